package app_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// TestBulkActionsOnRecipients selects recipients by id or as every one
// matching a search, counts, exports and deletes them: only the actor's
// own, whatever ids are sent; the rest of the list stays.
func TestBulkActionsOnRecipients(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ann := &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		bob := &app.Actor{User: env.User(t, "bob@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		var mine []int64
		for i := range 12 {
			r := &simplesender.Recipient{Email: fmt.Sprintf("r%02d@example.com", i), FirstName: "Anna"}
			if i >= 8 {
				r.FirstName = "Zoe"
			}
			if err := env.App.CreateRecipient(ctx, ann, r); err != nil {
				t.Fatal(err)
			}
			mine = append(mine, r.ID)
		}
		theirs := &simplesender.Recipient{Email: "zoe@example.org", FirstName: "Zoe"}
		if err := env.App.CreateRecipient(ctx, bob, theirs); err != nil {
			t.Fatal(err)
		}
		// A mailing whose audience loses some of its recipients.
		msg := &simplesender.Message{Subject: "Hi", BodyText: "Hi"}
		if err := env.App.CreateMessage(ctx, ann, msg); err != nil {
			t.Fatal(err)
		}
		m, err := env.App.CreateMailing(ctx, ann, app.MailingInput{Name: "m", MessageID: msg.ID, RecipientIDs: mine[:3]})
		if err != nil {
			t.Fatal(err)
		}

		count := func(sel app.RecipientSelection) int {
			t.Helper()
			n, err := env.App.CountSelectedRecipients(ctx, ann, sel)
			if err != nil {
				t.Fatalf("count %+v: %v", sel, err)
			}
			return n
		}
		if n := count(app.RecipientSelection{IDs: []int64{mine[0], mine[1], mine[1], theirs.ID}}); n != 2 {
			t.Errorf("two of mine, one repeated, and another user's: %d selected, want 2", n)
		}
		if n := count(app.RecipientSelection{All: true, Query: "zoe"}); n != 4 {
			t.Errorf("all matching zoe: %d, want my 4 (not the other user's)", n)
		}
		if n := count(app.RecipientSelection{All: true}); n != 12 {
			t.Errorf("all: %d, want 12", n)
		}
		for name, sel := range map[string]app.RecipientSelection{
			"nothing":  {},
			"too many": {IDs: make([]int64, 1001)},
		} {
			if name == "too many" {
				for i := range sel.IDs {
					sel.IDs[i] = int64(i + 1)
				}
			}
			if _, err := env.App.CountSelectedRecipients(ctx, ann, sel); !simplesender.IsKind(err, simplesender.KindInvalid) {
				t.Errorf("%s selected: %v, want Invalid", name, err)
			}
		}

		var csv bytes.Buffer
		n, err := env.App.ExportSelectedRecipients(ctx, ann, app.RecipientSelection{All: true, Query: "ZOE"}, &csv, app.ExportOptions{})
		if err != nil || n != 4 {
			t.Fatalf("export: %d, %v; want 4", n, err)
		}
		if !strings.HasPrefix(csv.String(), "email,last_name") || !strings.Contains(csv.String(), "r08@example.com") ||
			strings.Contains(csv.String(), "r00@") || strings.Contains(csv.String(), "zoe@example.org") {
			t.Errorf("export of my Zoes:\n%s", csv.String())
		}

		// Managers are read-only, their own data included.
		boss := &app.Actor{User: env.User(t, "boss@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		if _, err := env.App.DeleteSelectedRecipients(ctx, boss, app.RecipientSelection{All: true}); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("a manager's bulk delete: %v, want Forbidden", err)
		}
		if _, err := env.App.DeleteSelectedRecipients(ctx, ann, app.RecipientSelection{IDs: []int64{theirs.ID}}); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Errorf("deleting only another user's recipient: %v, want Invalid", err)
		}
		before, err := env.App.HomeCounters(ctx, ann) // cached now
		if err != nil {
			t.Fatal(err)
		}
		n, err = env.App.DeleteSelectedRecipients(ctx, ann, app.RecipientSelection{IDs: []int64{mine[0], mine[1], theirs.ID}})
		if err != nil || n != 2 {
			t.Fatalf("delete two of mine: %d, %v", n, err)
		}
		if after, err := env.App.HomeCounters(ctx, ann); err != nil || after.Recipients != before.Recipients-2 {
			t.Errorf("the home page shows %d recipients after deleting 2 of %d (%v)", after.Recipients, before.Recipients, err)
		}
		n, err = env.App.DeleteSelectedRecipients(ctx, ann, app.RecipientSelection{All: true, Query: "zoe"})
		if err != nil || n != 4 {
			t.Fatalf("delete all my Zoes: %d, %v", n, err)
		}
		if left := count(app.RecipientSelection{All: true}); left != 6 {
			t.Errorf("%d of my recipients left, want 6", left)
		}
		if _, err := env.App.GetRecipient(ctx, bob, theirs.ID); err != nil {
			t.Errorf("the other user's recipient: %v", err)
		}
		got, err := env.App.GetMailing(ctx, ann, m.ID)
		if err != nil || got.RecipientCount != 1 {
			t.Errorf("the mailing's audience after the delete: %+v, %v; want 1 recipient", got, err)
		}
	})
}
