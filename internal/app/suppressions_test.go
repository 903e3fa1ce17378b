package app_test

import (
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestImportReportsSuppressedAddresses: a recipient import (and its dry
// run) lists the rows whose address the owner suppressed or the service
// suppresses, with the line and the reason; they are imported, and stay
// suppressed. Another owner's suppression is not reported.
func TestImportReportsSuppressedAddresses(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		im := newImporter(t, env, "sup-importer@example.com")
		other := &app.Actor{User: env.User(t, "sup-other@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		admin := &app.Actor{User: env.User(t, "sup-admin@example.com", simplesender.RoleAdmin, simplesender.StatusActive)}
		add := func(ac *app.Actor, in app.SuppressionInput) {
			t.Helper()
			if _, _, err := env.App.AddSuppression(ctx, ac, in); err != nil {
				t.Fatal(err)
			}
		}
		add(im.ac, app.SuppressionInput{Email: "gone@example.org", Reason: simplesender.ReasonUnsubscribed})
		add(admin, app.SuppressionInput{Email: "abuse@example.org", Reason: simplesender.ReasonComplained, ServiceWide: true})
		add(other, app.SuppressionInput{Email: "fine@example.org"})
		file := "email\nfine@example.org\nGONE@example.org\nabuse@example.org\n"
		for _, dry := range []bool{true, false} {
			res := im.mustImport(file, app.ImportOptions{DryRun: dry})
			want := []app.ImportSuppressed{{Line: 3, Email: "GONE@example.org", Reason: simplesender.ReasonUnsubscribed},
				{Line: 4, Email: "abuse@example.org", Reason: simplesender.ReasonComplained}}
			if res.Suppressed != 2 || len(res.SuppressedRows) != 2 || res.SuppressedRows[0] != want[0] || res.SuppressedRows[1] != want[1] {
				t.Errorf("dry run %v: suppressed %d %+v, want %+v", dry, res.Suppressed, res.SuppressedRows, want)
			}
		}
		if got := im.list(); len(got) != 3 {
			t.Errorf("imported %d recipients, want all 3", len(got))
		}
		if x, err := env.App.IsSuppressed(ctx, im.ac.User.ID, "gone@example.org"); err != nil || x == nil {
			t.Errorf("the import lifted a suppression: %+v, %v", x, err)
		}
	})
}
