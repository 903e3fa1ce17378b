package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"simplesender/internal/app"
	"strconv"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/server"
)

// runSendMailing starts a mailing now and works it with an engine of its
// own (beside any running serve: claims keep them apart) until the run
// ends, drawing progress on stderr.
func runSendMailing(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("send-mailing", "send-mailing ID", e)
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("%q is not a mailing id", fs.Arg(0))
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.Stderr)
	srv, err := server.Open(ctx, cfg, log, server.Options{NoWork: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	a := srv.App
	before, err := a.GetMailing(ctx, app.System, id)
	if err != nil {
		return fmt.Errorf("mailing %d: %s", id, describe(err))
	}
	runsBefore, err := a.Runs(ctx, app.System, id)
	if err != nil {
		return err
	}
	if err := a.SendNow(ctx, app.System, id, "cli"); err != nil {
		return fmt.Errorf("mailing %d: %s", id, describe(err))
	}
	ectx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Engine.Run(ectx) }()
	srv.Engine.Wake()
	defer func() { stop(); <-done }()

	name := before.Name
	if name == "" {
		name = "#" + strconv.FormatInt(id, 10)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	started := time.Now()
	for {
		select {
		case <-ctx.Done():
			if !*quiet {
				fmt.Fprintln(e.Stderr)
			}
			return errors.New("interrupted: messages in flight were finished; the rest is sent by a running serve, or by send-mailing again after a cancel")
		case <-tick.C:
		}
		m, err := a.GetMailing(ctx, app.System, id)
		if err != nil {
			return err
		}
		runs, err := a.Runs(ctx, app.System, id)
		if err != nil {
			return err
		}
		if len(runs) == len(runsBefore) {
			continue // not started yet
		}
		r := runs[0]
		if !*quiet {
			drawProgress(e.Stderr, name, r.Counts)
		}
		if r.FinishedAt != nil {
			if !*quiet {
				fmt.Fprintln(e.Stderr)
			}
			c := r.Counts
			fmt.Fprintf(e.Stdout, "mailing %d run %d finished in %s: %d recipients, %d sent, %d failed, %d unknown, %d cancelled\n",
				id, r.Number, time.Since(started).Round(time.Millisecond), c.Total(), c.Sent, c.Failed, c.Unknown, c.Cancelled)
			if m.Disabled() {
				fmt.Fprintln(e.Stdout, "the mailing was disabled by a manager during the run")
			}
			return nil
		}
	}
}

func drawProgress(w io.Writer, name string, c simplesender.DeliveryCounts) {
	const width = 30
	total := max(c.Total(), 1)
	done := c.Done()
	n := done * width / total
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	fmt.Fprintf(w, "\r%s [%s] %d/%d  sent %d  failed %d  unknown %d  waiting %d ", name, bar, done, c.Total(),
		c.Sent, c.Failed, c.Unknown, c.Pending)
}
