package cli_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"simplesender/internal/cli"
	"simplesender/internal/store/storetest"
)

// run runs a command with the given environment and stdin.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cli.Env{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb, EnvFile: filepath.Join(t.TempDir(), "none.env")}
	code = cli.Run(context.Background(), args, e)
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": dbURL}
		steps := []struct {
			stdin      string
			args       []string
			code       int
			out, err   string
			outMissing string
		}{
			{"", []string{"version"}, 0, "simplesender", "", ""},
			{"", []string{"migrate"}, 0, "", "migrations applied", ""},
			{"", []string{"migrate"}, 0, "", "migrations applied", ""},
			{"", []string{"create-admin"}, 2, "", "Usage: simplesender create-admin", ""},
			{"", []string{"create-admin", "--email", "root@example.com"}, 1, "", "not a terminal", ""},
			{"12345678\n", []string{"create-admin", "--email", "root@example.com", "--password-stdin"}, 1, "", "digits", ""},
			{"long-unusual-phrase\n", []string{"create-admin", "--email", "Root@Example.com", "--password-stdin"}, 0, "", "created admin root@example.com", ""},
			{"", []string{"user", "list"}, 0, "root@example.com", "", ""},
			{"", []string{"user", "set-role", "root@example.com", "boss"}, 1, "", "Choose user, manager or admin", ""},
			{"", []string{"user", "block", "nobody@example.com"}, 1, "", "Not found", ""},
			{"", []string{"token", "create", "--email", "root@example.com", "--name", "ci"}, 0, "ss_", "", "root"},
			{"", []string{"user", "block", "root@example.com"}, 0, "", "status blocked", ""},
			{"", []string{"token", "create", "--email", "root@example.com"}, 1, "", "blocked", ""},
			{"", []string{"user", "unblock", "root@example.com"}, 0, "", "status active", ""},
			{"", []string{"user"}, 2, "", "Usage:", ""},
			{"", []string{"frobnicate"}, 2, "", "unknown command", ""},
			{"", []string{"serve", "-h"}, 0, "", "--addr", ""},
		}
		for _, s := range steps {
			code, out, errOut := run(t, env, s.stdin, s.args...)
			if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) ||
				(s.outMissing != "" && strings.Contains(out, s.outMissing)) {
				t.Errorf("%v: exit %d (want %d)\nstdout: %q\nstderr: %q", s.args, code, s.code, out, errOut)
			}
		}
	})
}

func TestBadConfigurationNamesTheVariable(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]map[string]string{
		"SIMPLESENDER_DATABASE_URL": {"SIMPLESENDER_DATABASE_URL": "mysql://x"},
		"SIMPLESENDER_SMTP_URL":     {"SIMPLESENDER_SMTP_URL": "http://mail"},
		"SIMPLESENDER_ADDR":         {"SIMPLESENDER_ADDR": "8000"},
		"SIMPLESENDER_BASE_URL":     {"SIMPLESENDER_BASE_URL": "mail.example.com"},
		"SIMPLESENDER_MAIL_FROM":    {"SIMPLESENDER_MAIL_FROM": "a@b\r\nBcc: x@y"},
		"SIMPLESENDER_SESSION_IDLE": {"SIMPLESENDER_SESSION_IDLE": "forever"},
	} {
		env["SIMPLESENDER_DATA_DIR"] = t.TempDir()
		code, _, errOut := run(t, env, "", "migrate")
		if code != 1 || !strings.Contains(errOut, name) {
			t.Errorf("%s: exit %d, stderr %q", name, code, errOut)
		}
	}
}

// TestServeRefusesBadCacheMode: a wrong SIMPLESENDER_CACHE stops the start
// with a message naming the variable and the values it takes.
func TestServeRefusesBadCacheMode(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{
		"bogus": `SIMPLESENDER_CACHE: "bogus" is not off, memory or redis`,
		"redis": "SIMPLESENDER_CACHE=redis needs SIMPLESENDER_REDIS_URL",
	} {
		env := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_CACHE": value,
			"SIMPLESENDER_DATABASE_URL": storetest.NewURL(t, "sqlite")}
		code, _, errOut := run(t, env, "", "serve")
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("serve with SIMPLESENDER_CACHE=%s: exit %d, stderr %q; want 1 and %q", value, code, errOut, want)
		}
	}
}
