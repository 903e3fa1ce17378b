package cli_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

func TestSendMailing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		env := apptest.New(t, dbURL)
		sink := apptest.NewSMTPServer(t)
		owner := &app.Actor{User: env.User(t, "cli@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		var ids []int64
		for i := range 30 {
			r := &simplesender.Recipient{Email: fmt.Sprintf("p%02d@example.com", i)}
			if err := env.App.CreateRecipient(ctx, owner, r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		msg := &simplesender.Message{Subject: "CLI", BodyText: "Hello {{email}}"}
		if err := env.App.CreateMessage(ctx, owner, msg); err != nil {
			t.Fatal(err)
		}
		m, err := env.App.CreateMailing(ctx, owner, app.MailingInput{Name: "Ноябрь", MessageID: msg.ID, RecipientIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": dbURL,
			"SIMPLESENDER_SMTP_URL": sink.URL(), "SIMPLESENDER_LOG_LEVEL": "warn"}
		code, out, errOut := run(t, vars, "", "send-mailing", strconv.FormatInt(m.ID, 10))
		if code != 0 || !strings.Contains(out, "30 recipients, 30 sent, 0 failed") || !strings.Contains(errOut, "Ноябрь [") {
			t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		if sink.Accepted() != 30 {
			t.Fatalf("sink got %d", sink.Accepted())
		}
		if code, _, errOut := run(t, vars, "", "send-mailing", "99999"); code != 1 || !strings.Contains(errOut, "Not found") {
			t.Fatalf("unknown mailing: exit %d, %q", code, errOut)
		}
		if code, _, _ := run(t, vars, "", "send-mailing"); code != 2 {
			t.Fatalf("no id: exit %d", code)
		}
	})
}

// TestSendMailingRefusesBlockedOwner: send-mailing does not send a blocked
// user's mailing; it says why and exits 1.
func TestSendMailingRefusesBlockedOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		env := apptest.New(t, dbURL)
		sink := apptest.NewSMTPServer(t)
		owner := &app.Actor{User: env.User(t, "blocked@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		m := env.Mailing(t, owner, "Blocked", "reader@example.com")
		if _, err := env.App.SetBlocked(ctx, app.System, owner.User.ID, true); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"SIMPLESENDER_DATA_DIR": t.TempDir(), "SIMPLESENDER_DATABASE_URL": dbURL,
			"SIMPLESENDER_SMTP_URL": sink.URL(), "SIMPLESENDER_LOG_LEVEL": "warn"}
		code, out, errOut := run(t, vars, "", "send-mailing", "--quiet", strconv.FormatInt(m.ID, 10))
		if code != 1 || !strings.Contains(errOut, "The owner of this mailing is blocked") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		if n := sink.Accepted(); n != 0 {
			t.Errorf("the SMTP server got %d messages of a blocked user", n)
		}
	})
}
