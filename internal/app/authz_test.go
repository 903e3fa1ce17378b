package app_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
)

// content is what one cell of TestAuthorization works on: objects of one
// owner, made afresh for each cell.
type content struct {
	R, R2  *simplesender.Recipient
	M      *simplesender.Message // used by G
	Spare  *simplesender.Message // used by nothing
	G      *simplesender.Mailing
	Owner  *simplesender.User
	Caller *app.Actor
}

// authzCase is one use case tried by every caller of authzCallers.
type authzCase struct {
	name string
	// target and id name the object the use case changes, when an admin's
	// action on it must be recorded ("" for none: reads and creations).
	target string
	id     func(c *content) int64
	// prepare puts the owner's objects in the state the use case needs.
	prepare func(t *testing.T, env *apptest.Env, c *content)
	do      func(env *apptest.Env, c *content) error
	// want per caller: "ok", "forbidden", "notfound"; "ok" may stand for a
	// refusal of the object's state (okConflict) that comes after the
	// authorization.
	want       map[string]string
	okConflict string
}

// authzCallers: a regular user, a manager and an admin, each once as the
// owner of the objects and once as someone else.
var authzCallers = []string{"user/own", "user/other", "manager/own", "manager/other", "admin/own", "admin/other"}

func want6(userOwn, userOther, managerOwn, managerOther, adminOwn, adminOther string) map[string]string {
	return map[string]string{"user/own": userOwn, "user/other": userOther, "manager/own": managerOwn,
		"manager/other": managerOther, "admin/own": adminOwn, "admin/other": adminOther}
}

var (
	viewAll  = want6("ok", "notfound", "ok", "ok", "ok", "ok")
	createOk = want6("ok", "ok", "forbidden", "forbidden", "ok", "ok")
	changeOk = want6("ok", "notfound", "forbidden", "forbidden", "ok", "ok")
)

func mailingID(c *content) int64   { return c.G.ID }
func recipientID(c *content) int64 { return c.R.ID }

func schedule(t *testing.T, env *apptest.Env, c *content) {
	t.Helper()
	if err := env.App.Schedule(ctx, &app.Actor{User: c.Owner}, c.G.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

var authzCases = []authzCase{
	{name: "view a recipient", want: viewAll, do: func(env *apptest.Env, c *content) error {
		_, err := env.App.GetRecipient(ctx, c.Caller, c.R.ID)
		return err
	}},
	{name: "view a message", want: viewAll, do: func(env *apptest.Env, c *content) error {
		_, err := env.App.GetMessage(ctx, c.Caller, c.M.ID)
		return err
	}},
	{name: "view a mailing's deliveries", want: viewAll, do: func(env *apptest.Env, c *content) error {
		_, err := env.App.Deliveries(ctx, c.Caller, c.G.ID, 0, app.DeliveryFilter{Limit: 10})
		return err
	}},
	{name: "export recipients", want: want6("ok", "notfound", "ok", "ok", "ok", "ok"), do: func(env *apptest.Env, c *content) error {
		_, err := env.App.ExportRecipients(ctx, c.Caller, c.Owner.ID, &strings.Builder{}, app.ExportOptions{})
		return err
	}},

	{name: "create a recipient", want: createOk, do: func(env *apptest.Env, c *content) error {
		return env.App.CreateRecipient(ctx, c.Caller, &simplesender.Recipient{Email: "new@example.com"})
	}},
	{name: "import recipients", want: createOk, do: func(env *apptest.Env, c *content) error {
		_, err := env.App.ImportRecipients(ctx, c.Caller, 0, strings.NewReader("email\r\nimported@example.com\r\n"), app.ImportOptions{})
		return err
	}},
	{name: "create a message", want: createOk, do: func(env *apptest.Env, c *content) error {
		return env.App.CreateMessage(ctx, c.Caller, &simplesender.Message{Subject: "New", BodyText: "Text"})
	}},
	{name: "create a mailing", want: createOk, do: func(env *apptest.Env, c *content) error {
		// Of the caller's own message and recipient.
		ac := c.Caller
		if ac.User.Role == simplesender.RoleManager {
			// A manager has nothing to make it of: the refusal must come
			// before the check of the message.
			_, err := env.App.CreateMailing(ctx, ac, app.MailingInput{MessageID: c.M.ID, RecipientIDs: []int64{c.R.ID}})
			return err
		}
		msg := &simplesender.Message{Subject: "Mine", BodyText: "Text"}
		r := &simplesender.Recipient{Email: "mine@example.com"}
		if err := env.App.CreateMessage(ctx, ac, msg); err != nil {
			return err
		}
		if err := env.App.CreateRecipient(ctx, ac, r); err != nil {
			return err
		}
		_, err := env.App.CreateMailing(ctx, ac, app.MailingInput{MessageID: msg.ID, RecipientIDs: []int64{r.ID}})
		return err
	}},

	{name: "edit a recipient", want: changeOk, target: "recipient", id: recipientID, do: func(env *apptest.Env, c *content) error {
		return env.App.UpdateRecipient(ctx, c.Caller, &simplesender.Recipient{ID: c.R.ID, Email: c.R.Email, FirstName: "Changed"})
	}},
	{name: "delete a recipient", want: changeOk, target: "recipient", id: recipientID, do: func(env *apptest.Env, c *content) error {
		return env.App.DeleteRecipient(ctx, c.Caller, c.R.ID)
	}},
	{name: "edit a message", want: changeOk, target: "message", id: func(c *content) int64 { return c.M.ID },
		do: func(env *apptest.Env, c *content) error {
			return env.App.UpdateMessage(ctx, c.Caller, &simplesender.Message{ID: c.M.ID, Subject: "Changed", BodyText: "Text"})
		}},
	{name: "delete a message", want: changeOk, target: "message", id: func(c *content) int64 { return c.Spare.ID },
		do: func(env *apptest.Env, c *content) error { return env.App.DeleteMessage(ctx, c.Caller, c.Spare.ID) }},
	{name: "edit a mailing", want: changeOk, target: "mailing", id: mailingID, do: func(env *apptest.Env, c *content) error {
		// The owner's message and recipients, whoever edits.
		_, err := env.App.UpdateMailing(ctx, c.Caller, c.G.ID, app.MailingInput{Name: "Changed", MessageID: c.M.ID,
			RecipientIDs: []int64{c.R2.ID}})
		return err
	}},
	{name: "delete a mailing", want: changeOk, target: "mailing", id: mailingID, do: func(env *apptest.Env, c *content) error {
		return env.App.DeleteMailing(ctx, c.Caller, c.G.ID)
	}},
	{name: "send a mailing now", want: changeOk, target: "mailing", id: mailingID, do: func(env *apptest.Env, c *content) error {
		return env.App.SendNow(ctx, c.Caller, c.G.ID, "now")
	}},
	{name: "schedule a mailing", want: changeOk, target: "mailing", id: mailingID, do: func(env *apptest.Env, c *content) error {
		return env.App.Schedule(ctx, c.Caller, c.G.ID, time.Now().Add(2*time.Hour))
	}},
	{name: "resend to the failed", want: changeOk, target: "mailing", id: mailingID, okConflict: "error.mailing.nothing_to_resend",
		do: func(env *apptest.Env, c *content) error {
			return env.App.Resend(ctx, c.Caller, c.G.ID, simplesender.RunResendFailed)
		}},
	{name: "cancel a scheduled mailing", want: changeOk, target: "mailing", id: mailingID,
		prepare: schedule, do: func(env *apptest.Env, c *content) error { return env.App.CancelMailing(ctx, c.Caller, c.G.ID) }},
	{name: "disable a mailing", want: want6("forbidden", "notfound", "ok", "ok", "ok", "ok"), do: func(env *apptest.Env, c *content) error {
		_, err := env.App.SetMailingDisabled(ctx, c.Caller, c.G.ID, true)
		return err
	}},
	{name: "enable a mailing", want: want6("forbidden", "notfound", "ok", "ok", "ok", "ok"),
		prepare: func(t *testing.T, env *apptest.Env, c *content) {
			if _, err := env.App.SetMailingDisabled(ctx, app.System, c.G.ID, true); err != nil {
				t.Fatal(err)
			}
		}, do: func(env *apptest.Env, c *content) error {
			_, err := env.App.SetMailingDisabled(ctx, c.Caller, c.G.ID, false)
			return err
		}},
}

// TestAuthorization tries every use case on content with every role, as the
// owner of the objects and as someone else: users do everything to their
// own content only; managers only look and switch mailings off and on; admins do everything to anyone's content, and what they do to
// another user's is written to the audit log (who, whose) and marked on the
// object for its owner.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		var n atomic.Int64
		for _, tc := range authzCases {
			for _, who := range authzCallers {
				want := tc.want[who]
				t.Run(fmt.Sprintf("%s/%s/%s", tc.name, who, want), func(t *testing.T) {
					t.Parallel()
					c := seedContent(t, env, who, n.Add(1))
					if tc.prepare != nil {
						tc.prepare(t, env, c)
					}
					err := tc.do(env, c)
					changed := err == nil
					if tc.okConflict != "" && want == "ok" && simplesender.IsKind(err, simplesender.KindConflict) {
						var de *simplesender.Error
						if !asError(err, &de) || de.Message != tc.okConflict {
							t.Fatalf("got %v, want %s after the authorization", err, tc.okConflict)
						}
						err = nil
					}
					checkOutcome(t, err, want)
					if tc.target != "" {
						checkRecorded(t, env, c, tc.target, tc.id(c), changed && who == "admin/other")
					}
				})
			}
		}
	})
}

// seedContent makes an owner with a mailing of a message to two recipients
// and a spare message, and the caller who: the owner itself (given the role
// after the objects are made, as a user later promoted) or another account.
func seedContent(t *testing.T, env *apptest.Env, who string, n int64) *content {
	t.Helper()
	role, rel, _ := strings.Cut(who, "/")
	owner := env.User(t, fmt.Sprintf("owner%d@example.com", n), simplesender.RoleUser, simplesender.StatusActive)
	oa := &app.Actor{User: owner}
	c := &content{Owner: owner, R: &simplesender.Recipient{Email: "r1@example.com", FirstName: "Ivan"},
		R2: &simplesender.Recipient{Email: "r2@example.com"}, M: &simplesender.Message{Subject: "Hello", BodyText: "Text"},
		Spare: &simplesender.Message{Subject: "Spare", BodyText: "Text"}}
	for _, r := range []*simplesender.Recipient{c.R, c.R2} {
		if err := env.App.CreateRecipient(ctx, oa, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*simplesender.Message{c.M, c.Spare} {
		if err := env.App.CreateMessage(ctx, oa, m); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if c.G, err = env.App.CreateMailing(ctx, oa, app.MailingInput{Name: "News", MessageID: c.M.ID, RecipientIDs: []int64{c.R.ID, c.R2.ID}}); err != nil {
		t.Fatal(err)
	}
	caller := owner
	if rel == "other" {
		caller = env.User(t, fmt.Sprintf("%s%d@example.com", role, n), simplesender.Role(role), simplesender.StatusActive)
	} else if role != "user" {
		if err := env.DB.Store().SetRole(ctx, owner.ID, simplesender.Role(role)); err != nil {
			t.Fatal(err)
		}
		cp := *owner
		cp.Role = simplesender.Role(role)
		caller = &cp
	}
	c.Caller = &app.Actor{User: caller}
	return c
}

func asError(err error, de **simplesender.Error) bool {
	e, ok := err.(*simplesender.Error)
	*de = e
	return ok
}

func checkOutcome(t *testing.T, err error, want string) {
	t.Helper()
	switch want {
	case "ok":
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
	case "forbidden":
		var de *simplesender.Error
		if !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Fatalf("got %v, want Forbidden", err)
		}
		// A manager is told why, not just "forbidden".
		if asError(err, &de) && de.Message == "error.forbidden" && strings.Contains(t.Name(), "manager") {
			t.Errorf("a manager got the generic %s", de.Message)
		}
	case "notfound":
		if !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Fatalf("got %v, want NotFound", err)
		}
	}
}

// checkRecorded checks the audit log and the owner's mark of object id:
// present exactly when an admin changed another user's object.
func checkRecorded(t *testing.T, env *apptest.Env, c *content, target string, id int64, want bool) {
	t.Helper()
	events, err := env.DB.Store().AuditFor(ctx, target, id, 50)
	if err != nil {
		t.Fatal(err)
	}
	var onBehalf []*simplesender.AuditEvent
	for _, e := range events {
		if e.ActorID == c.Caller.User.ID && e.OwnerID == c.Owner.ID && c.Caller.User.Role == simplesender.RoleAdmin {
			onBehalf = append(onBehalf, e)
		}
	}
	if want && (len(onBehalf) != 1 || !strings.HasPrefix(onBehalf[0].Action, target+".") || onBehalf[0].ActorEmail != c.Caller.User.Email) {
		t.Errorf("audit of %s %d: %+v, want one event by the admin naming the owner", target, id, events)
	}
	if !want && len(onBehalf) != 0 {
		t.Errorf("audit of %s %d: %+v, want no admin event", target, id, events)
	}
	mark, err := env.App.AdminChange(ctx, &app.Actor{User: c.Owner}, target, id)
	if simplesender.IsKind(err, simplesender.KindNotFound) {
		return // deleted
	}
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case want && (mark == nil || mark.AdminID != c.Caller.User.ID || mark.AdminEmail != c.Caller.User.Email || mark.At.IsZero()):
		t.Errorf("the owner sees %+v on %s %d, want the admin's mark", mark, target, id)
	case !want && mark != nil:
		t.Errorf("the owner sees %+v on %s %d, want no admin mark", mark, target, id)
	}
}

// TestUnknownActionIsRefused: a misspelt action (in a template, say) hides
// the button instead of showing one that the use case would refuse.
func TestUnknownActionIsRefused(t *testing.T) {
	t.Parallel()
	for _, role := range []simplesender.Role{simplesender.RoleUser, simplesender.RoleManager, simplesender.RoleAdmin} {
		ac := &app.Actor{User: &simplesender.User{ID: 7, Role: role}}
		if ac.Can("edti", 7) {
			t.Errorf("%s may do an unknown action", role)
		}
		if !ac.Can(app.ActView, 7) {
			t.Errorf("%s may not view their own data", role)
		}
	}
	if (&app.Actor{}).Can(app.ActView, 0) {
		t.Error("nobody may view")
	}
}

// TestPromotedManagerCannotStartOldImport: a file uploaded before its owner
// became a manager is not imported afterwards.
func TestPromotedManagerCannotStartOldImport(t *testing.T) {
	t.Parallel()
	env := apptest.NewSQLite(t, apptest.Options{NoImportWorker: true})
	u := env.User(t, "soon-manager@example.com", simplesender.RoleUser, simplesender.StatusActive)
	job, err := env.App.UploadImport(ctx, &app.Actor{User: u}, 0, "list.csv", strings.NewReader("email\r\na@example.org\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DB.Store().SetRole(ctx, u.ID, simplesender.RoleManager); err != nil {
		t.Fatal(err)
	}
	mgr := *u
	mgr.Role = simplesender.RoleManager
	for name, start := range map[string]func() error{
		"start": func() error {
			_, err := env.App.StartImport(ctx, &app.Actor{User: &mgr}, job.ID, app.ImportOptions{})
			return err
		},
		"run": func() error {
			_, err := env.App.RunImport(ctx, &app.Actor{User: &mgr}, job.ID, app.ImportOptions{})
			return err
		},
	} {
		if err := start(); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("%s: %v, want Forbidden", name, err)
		}
	}
	if _, n, err := env.DB.Store().ListRecipients(ctx, u.ID, app.ListFilter{Limit: 10}); err != nil || n != 0 {
		t.Errorf("recipients imported: %d, %v", n, err)
	}
}
