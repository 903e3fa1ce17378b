// Command smtpsink is a counting SMTP server for load tests: it accepts every
// message on loopback, throws the bodies away, prints a progress line on
// stderr every -interval, and on SIGINT/SIGTERM (or once -expect messages
// arrived) prints a JSON summary on stdout. It has no AUTH and no TLS: a
// measuring instrument, never a relay.
//
//	go run ./cmd/smtpsink -addr 127.0.0.1:2525
//	go run ./cmd/smtpsink -addr 127.0.0.1:2525 -rcpt-log rcpts.txt -dups -expect 100000 > summary.json
//
// Duplicate and gap check after a run with -rcpt-log: `sort rcpts.txt | uniq -d`
// lists the recipients that got more than one message, and
// `sort -u rcpts.txt | wc -l` counts those that got one.
//
// cmd/loadtest starts the same sink in its own process when it is given no
// -smtp address.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"simplesender/internal/smtpsink"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "smtpsink:", err)
		os.Exit(1)
	}
}

// Summary is the JSON printed at exit.
type Summary struct {
	Addr        string  `json:"addr"`
	Messages    int64   `json:"messages"`
	Recipients  int64   `json:"recipients"`
	Bytes       int64   `json:"bytes"`
	Sessions    int64   `json:"sessions"`
	Distinct    *int64  `json:"distinct_recipients,omitempty"`  // with -dups
	Duplicates  *int64  `json:"duplicate_recipients,omitempty"` // with -dups
	First       string  `json:"first,omitempty"`                // RFC 3339, of the first message
	Last        string  `json:"last,omitempty"`
	Seconds     float64 `json:"seconds"` // from the first message to the last
	RatePerSec  float64 `json:"messages_per_second"`
	ExpectedMet bool    `json:"expected_reached,omitempty"` // -expect messages arrived
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smtpsink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:2525", "listen address (port 0: any free port, printed on stderr)")
	idle := fs.Duration("idle-timeout", time.Minute, "answer 421 and close a connection idle this long")
	delay := fs.Duration("delay", 0, "added before answering each message (a slower server)")
	maxBytes := fs.Int64("max-bytes", 32<<20, "largest message accepted (552 above it)")
	rcptLog := fs.String("rcpt-log", "", "write each accepted recipient on a line of this file")
	dups := fs.Bool("dups", false, "count recipients that got more than one message (keeps every address in memory)")
	expect := fs.Int64("expect", 0, "exit once this many messages arrived (0: run until SIGINT or SIGTERM)")
	interval := fs.Duration("interval", time.Second, "progress line on stderr this often (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := smtpsink.Config{Addr: *addr, IdleTimeout: *idle, Delay: *delay, MaxBytes: *maxBytes, Duplicates: *dups}
	if *rcptLog != "" {
		f, err := os.Create(*rcptLog)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.RcptLog = f
	}
	sink, err := smtpsink.Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "smtpsink: listening on %s\n", sink.Addr())
	reached := wait(ctx, sink, *expect, *interval, stderr)
	if err := sink.Close(); err != nil {
		return err
	}
	st := sink.Stats()
	fmt.Fprintf(stderr, "smtpsink: %d messages, %d recipients, %d bytes, %d sessions, %.0f msg/s from first to last\n",
		st.Messages, st.Recipients, st.Bytes, st.Sessions, st.Rate())
	sum := Summary{Addr: sink.Addr(), Messages: st.Messages, Recipients: st.Recipients, Bytes: st.Bytes,
		Sessions: st.Sessions, Seconds: st.Last.Sub(st.First).Seconds(), RatePerSec: st.Rate(), ExpectedMet: reached}
	if *dups {
		sum.Distinct, sum.Duplicates = &st.Distinct, &st.Duplicates
	}
	if !st.First.IsZero() {
		sum.First, sum.Last = st.First.UTC().Format(time.RFC3339Nano), st.Last.UTC().Format(time.RFC3339Nano)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// wait prints progress until ctx ends or expect messages arrived (then it
// returns true).
func wait(ctx context.Context, sink *smtpsink.Sink, expect int64, interval time.Duration, stderr io.Writer) bool {
	check := time.NewTicker(50 * time.Millisecond)
	defer check.Stop()
	var progress <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		progress = t.C
	}
	last := int64(0)
	for {
		select {
		case <-ctx.Done():
			return false
		case <-check.C:
			if expect > 0 && sink.Stats().Messages >= expect {
				return true
			}
		case <-progress:
			st := sink.Stats()
			fmt.Fprintf(stderr, "smtpsink: %d messages (+%d), %d recipients, %d MB\n",
				st.Messages, st.Messages-last, st.Recipients, st.Bytes>>20)
			last = st.Messages
		}
	}
}
