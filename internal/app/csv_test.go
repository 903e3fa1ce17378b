package app_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/cache"
	"simplesender/internal/store/storetest"
)

// TestEveryCSVExportNeutralisesOneWay checks that each CSV export writes its
// text cells through the one formula rule (csvio.Neutralize, tested there):
// a formula gets an apostrophe, and so does a value that already starts
// with an apostrophe before a formula, which is what makes the rule
// reversible by the import. A second rule that skipped such values would
// write "'=1+1" back unchanged, and an import of the file would read "=1+1".
func TestEveryCSVExportNeutralisesOneWay(t *testing.T) {
	t.Parallel()
	env := rpEnv(t, storetest.NewURL(t, "sqlite"), cache.NewMemory(0))
	ac := rpActor(t, env, "ivan@a.ru", simplesender.RoleUser)
	boss := &app.Actor{User: env.User(t, "'=boss@example.com", simplesender.RoleAdmin, simplesender.StatusActive)}
	h := &history{t: t, env: env, m: rpMailing(t, env, ac, "'=1+1", "'=x@example.com")}
	h.start(ac)
	c := h.claim(1)[0]
	h.record(h.out(c, simplesender.DeliveryFailed, "2025-03-10T12:00:00Z", "'@550 no"))
	if err := env.App.CreateRecipient(ctx, ac, &simplesender.Recipient{Email: "ann@example.com", Comment: "'+7 900"}); err != nil {
		t.Fatal(err)
	}

	cells := func(name string, write func(*bytes.Buffer) error) map[string]bool {
		t.Helper()
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b.String())
		}
		out := map[string]bool{}
		for _, row := range rows {
			for _, c := range row {
				out[c] = true
			}
		}
		return out
	}
	for _, e := range []struct {
		name  string
		write func(*bytes.Buffer) error
		want  string
	}{
		{"recipients", func(b *bytes.Buffer) error {
			_, err := env.App.ExportRecipients(ctx, ac, 0, b, app.ExportOptions{})
			return err
		}, "''+7 900"},
		{"selected recipients", func(b *bytes.Buffer) error {
			_, err := env.App.ExportSelectedRecipients(ctx, ac, app.RecipientSelection{All: true, Query: "ann"}, b, app.ExportOptions{})
			return err
		}, "''+7 900"},
		{"report", func(b *bytes.Buffer) error { return env.App.WriteReportCSV(ctx, ac, b, 0, app.Period{}, false) }, "''=1+1"},
		{"users report", func(b *bytes.Buffer) error { return env.App.WriteUsersReportCSV(ctx, boss, b, app.Period{}, false) },
			"''=boss@example.com"},
		{"attempts: address", func(b *bytes.Buffer) error { return env.App.WriteAttemptsCSV(ctx, ac, h.m.ID, b, false) },
			"''=x@example.com"},
		{"attempts: response", func(b *bytes.Buffer) error { return env.App.WriteAttemptsCSV(ctx, ac, h.m.ID, b, false) },
			"''@550 no"},
	} {
		got := cells(e.name, e.write)
		if !got[e.want] {
			t.Errorf("%s: no cell %q in %v", e.name, e.want, got)
		}
		for c := range got {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("%s: cell %q starts a formula", e.name, c)
			}
		}
	}
}
