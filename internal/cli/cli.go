// Package cli is the command line of simplesender: serve, migrate and the
// administration commands. Each command has its own flag set and -h.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/config"
	"simplesender/internal/server"
)

// Version is set at build time with -ldflags "-X simplesender/internal/cli.Version=...".
var Version = "dev"

// Env is what a command gets from the outside world.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// EnvFile is the .env file to read ("" to skip); default ".env".
	EnvFile string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the web UI, the JSON API and the background workers", runServe},
		{"migrate", "apply pending database migrations and exit", runMigrate},
		{"create-admin", "create an admin account, or promote an existing one", runCreateAdmin},
		{"user", "list users, set roles, block and unblock (user -h)", runUser},
		{"token", "create an API token for a user (token create -h)", runToken},
		{"send-mailing", "send a mailing now and wait until it is finished", runSendMailing},
		{"import-recipients", "import recipients from a CSV file into a user's list", runImportRecipients},
		{"export-recipients", "write a user's recipients as CSV", runExportRecipients},
		{"suppressions", "add, remove, import and export the addresses never mailed (suppressions -h)", runSuppressions},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error whose usage text was already printed.
var errUsage = errors.New("usage")

// Run runs the command in args (without the program name) and returns the
// process exit status.
func Run(ctx context.Context, args []string, e *Env) int {
	if e.EnvFile == "" {
		e.EnvFile = ".env"
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(e.Stderr, "simplesender %s: %s\n", c.name, describe(err))
			return 1
		}
	}
	fmt.Fprintf(e.Stderr, "simplesender: unknown command %q\n\n", args[0])
	usage(e.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "simplesender: self-hosted e-mail mailings.\n\nUsage: simplesender COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command has -h. Configuration comes from SIMPLESENDER_* variables and a .env file (see .env.example).")
}

// describe turns an error into a line for the operator. Domain errors carry
// message keys; they are translated to English here.
func describe(err error) string {
	var de *simplesender.Error
	if errors.As(err, &de) && de.Kind != simplesender.KindInternal {
		msg := englishMessage(de.Message)
		for f, k := range de.Fields {
			msg += fmt.Sprintf(" %s: %s", f, englishMessage(k, de.FieldArgs[f]...))
		}
		return msg
	}
	return err.Error()
}

func newFlags(name, usageLine string, e *Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: simplesender %s\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func loadConfig(e *Env) (*config.Config, error) {
	return config.Load(e.Getenv, e.EnvFile)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(server.LogHandler{Handler: h})
}

// openTool opens the service for a one-shot command: migrated database and
// an app whose queue only inserts jobs.
func openTool(ctx context.Context, e *Env) (*server.Server, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, e.Stderr)
	return server.Open(ctx, cfg, log, server.Options{NoWork: true})
}

// openAs is openTool that also finds the account of email; the caller
// closes srv. An unknown address is an error that names it.
func openAs(ctx context.Context, e *Env, email string) (*server.Server, *simplesender.User, error) {
	srv, err := openTool(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	u, err := srv.App.UserByEmail(ctx, app.System, email)
	if err != nil {
		srv.Close()
		return nil, nil, fmt.Errorf("%s: %s", email, describe(err))
	}
	return srv, u, nil
}

func runServe(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("serve", "serve [--addr HOST:PORT]", e)
	addr := fs.String("addr", "", "listen address (default $SIMPLESENDER_ADDR or 127.0.0.1:8000)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
		if e.Getenv(config.EnvBaseURL) == "" {
			// Links in e-mails follow the address actually served.
			if cfg2, err := config.Load(func(k string) string {
				if k == config.EnvAddr {
					return *addr
				}
				return e.Getenv(k)
			}, e.EnvFile); err == nil {
				cfg = cfg2
			}
		}
	}
	log := newLogger(cfg, e.Stderr)
	if path := e.Getenv("SIMPLESENDER_CPUPROFILE"); path != "" {
		// For load tests: a CPU profile of the whole run, written at exit.
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	srv, err := server.Open(ctx, cfg, log, server.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	if cfg.SMTPURL == "" {
		log.Info("no SMTP server configured: e-mails are written to the outbox folder", "outbox", cfg.OutboxDir())
	}
	return srv.Run(ctx, cfg.Addr, nil)
}

func runMigrate(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("migrate", "migrate", e)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	engine, err := server.MigrateURL(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "migrations applied (%s)\n", engine)
	return nil
}

func runVersion(_ context.Context, e *Env, args []string) error {
	fs := newFlags("version", "version", e)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, "simplesender", Version)
	return nil
}

func runCreateAdmin(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("create-admin", "create-admin --email E [--password-stdin]", e)
	email := fs.String("email", "", "the admin's e-mail address (required)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return errUsage
	}
	password, err := readPassword(e, *fromStdin)
	if err != nil {
		return err
	}
	srv, err := openTool(ctx, e)
	if err != nil {
		return err
	}
	defer srv.Close()
	u, created, err := srv.App.CreateAdmin(ctx, app.System, *email, password)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(e.Stderr, "created admin %s (id %d)\n", u.Email, u.ID)
	} else {
		fmt.Fprintf(e.Stderr, "%s (id %d) is now an admin\n", u.Email, u.ID)
	}
	return nil
}

// readPassword reads a password from stdin (first line) or, interactively,
// from the terminal without echo, asking twice.
func readPassword(e *Env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("no password on standard input")
		}
		return pw, nil
	}
	f, ok := e.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal: use --password-stdin")
	}
	fmt.Fprint(e.Stderr, "Password: ")
	a, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.Stderr, "Repeat the password: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.Stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords do not match")
	}
	return string(a), nil
}

func runUser(ctx context.Context, e *Env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	usageLine := "user list | user set-role EMAIL user|manager|admin | user block EMAIL | user unblock EMAIL"
	fs := newFlags("user "+sub, usageLine, e)
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	want := map[string]int{"list": 0, "set-role": 2, "block": 1, "unblock": 1}
	n, ok := want[sub]
	if !ok || len(rest) != n {
		fs.Usage()
		return errUsage
	}
	srv, err := openTool(ctx, e)
	if err != nil {
		return err
	}
	defer srv.Close()
	a := srv.App
	if sub == "list" {
		return listUsers(ctx, a, e.Stdout)
	}
	u, err := a.UserByEmail(ctx, app.System, rest[0])
	if err != nil {
		return err
	}
	switch sub {
	case "set-role":
		u, err = a.SetRole(ctx, app.System, u.ID, simplesender.Role(rest[1]))
	case "block":
		u, err = a.SetBlocked(ctx, app.System, u.ID, true)
	case "unblock":
		u, err = a.SetBlocked(ctx, app.System, u.ID, false)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "%s: role %s, status %s\n", u.Email, u.Role, u.Status())
	return nil
}

func listUsers(ctx context.Context, a *app.App, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATUS\tCREATED")
	for off := 0; ; off += 500 {
		page, err := a.ListUsers(ctx, app.System, app.UserFilter{Limit: 500, Offset: off})
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, u.Status(), u.CreatedAt.Format("2006-01-02 15:04"))
		}
		if off+500 >= page.Total {
			break
		}
	}
	return tw.Flush()
}

func runToken(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(e.Stderr, "Usage: simplesender token create --email E [--name N]")
			return flag.ErrHelp
		}
		fmt.Fprintln(e.Stderr, "Usage: simplesender token create --email E [--name N]")
		return errUsage
	}
	fs := newFlags("token create", "token create --email E [--name N]", e)
	email := fs.String("email", "", "the token owner's e-mail address (required)")
	name := fs.String("name", "", "a name to recognise the token by")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return errUsage
	}
	srv, u, err := openAs(ctx, e, *email)
	if err != nil {
		return err
	}
	defer srv.Close()
	if u.Status() != simplesender.StatusActive {
		return fmt.Errorf("%s is %s; only active accounts can use tokens", u.Email, u.Status())
	}
	raw, _, err := srv.App.CreateAPIToken(ctx, app.System, u, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, raw)
	return nil
}
