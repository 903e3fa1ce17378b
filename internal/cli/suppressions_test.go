package cli_test

import (
	"context"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestSuppressionsCLI: an operator adds, imports, exports and removes the
// addresses a user's mailings (or everyone's) never go to; what the CLI
// changes is what the user's list then holds.
func TestSuppressionsCLI(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		u := env.User(t, "owner@example.com", simplesender.RoleUser, simplesender.StatusActive)
		vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": env.URL, "SIMPLESENDER_LOG_LEVEL": "warn"}
		steps := []struct {
			stdin    string
			args     []string
			code     int
			out, err string
		}{
			{"", []string{"suppressions", "add", "ann@example.com"}, 2, "", "Usage: simplesender suppressions"},
			{"", []string{"suppressions", "add", "--email", "owner@example.com", "--note", "asked by phone", "Ann@Example.com", "bob@example.com"}, 0,
				"suppressed ann@example.com (manual)\nsuppressed bob@example.com (manual)", ""},
			{"", []string{"suppressions", "add", "--email", "owner@example.com", "ann@example.com"}, 0, "already suppressed ann@example.com", ""},
			{"", []string{"suppressions", "add", "--email", "owner@example.com", "not-an-address"}, 1, "", "not-an-address"},
			{"", []string{"suppressions", "add", "--email", "nobody@example.com", "x@example.com"}, 1, "", "nobody@example.com"},
			{"email\ncid@example.com\nann@example.com\nbroken\n", []string{"suppressions", "import", "--email", "owner@example.com", "--reason", "complained", "-"}, 0,
				"3 rows: 1 suppressed, 1 already were, 1 invalid", "line 4"},
			{"", []string{"suppressions", "remove", "--email", "owner@example.com", "bob@example.com"}, 2, "", "Usage"},
			{"", []string{"suppressions", "remove", "--email", "owner@example.com", "--why", "asked to come back", "bob@example.com"}, 0, "removed bob@example.com", ""},
			{"", []string{"suppressions", "remove", "--email", "owner@example.com", "--why", "again", "bob@example.com"}, 1, "", "not on the list"},
			{"", []string{"suppressions", "add", "--service-wide", "--reason", "complained", "abuse@example.net"}, 0, "suppressed abuse@example.net (complained)", ""},
			{"", []string{"suppressions", "export", "--email", "owner@example.com"}, 0, "email,reason,note", "2 addresses"},
		}
		for _, s := range steps {
			code, out, errOut := run(t, vars, s.stdin, s.args...)
			if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
				t.Errorf("%v: exit %d (want %d)\nstdout: %q\nstderr: %q", s.args, code, s.code, out, errOut)
			}
		}
		list, _, err := env.App.ListSuppressions(context.Background(), &app.Actor{User: u}, app.SuppressionQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]simplesender.SuppressionReason{}
		for _, x := range list {
			got[x.Email] = x.Reason
		}
		if len(got) != 2 || got["ann@example.com"] != simplesender.ReasonManual || got["cid@example.com"] != simplesender.ReasonComplained {
			t.Errorf("the user's list after the commands: %v", got)
		}
		if x, err := env.App.IsSuppressed(context.Background(), u.ID, "abuse@example.net"); err != nil || x == nil {
			t.Errorf("the service-wide entry does not stop the user's mail: %v %v", x, err)
		}
	})
}
