package api

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store"
)

// contentWhos are the callers of the content routes: the owner of the
// objects, another regular user, staff, a blocked user and nobody.
var contentWhos = []string{"owner", "other", "manager", "admin", "blocked", "anonymous"}

// st6 builds a status table in the order of contentWhos.
func st6(owner, other, manager, admin, blocked, anonymous int) map[string]int {
	return map[string]int{"owner": owner, "other": other, "manager": manager, "admin": admin, "blocked": blocked,
		"anonymous": anonymous}
}

// newContentFixture is newFixture with "owner" (the active user) and
// "other", a second active user, among the callers.
func newContentFixture(t *testing.T, databaseURL string) *fixture {
	t.Helper()
	f := newFixture(t, databaseURL)
	f.users["owner"], f.tokens["owner"] = f.users["active"], f.tokens["active"]
	other := f.newUser(t, "other@example.com", simplesender.RoleUser, simplesender.StatusActive)
	f.users["other"], f.tokens["other"] = other, f.token(t, other)
	return f
}

// objects are the content of one user made for one test cell.
type objects struct {
	R, R2 *simplesender.Recipient // R2's address contains "fail": a run fails it
	M     *simplesender.Message
	G     *simplesender.Mailing // M to R and R2
}

// vars returns the objects as placeholders.
func (o objects) vars() map[string]string {
	return map[string]string{"r": itoa(o.R.ID), "r_email": o.R.Email, "r2": itoa(o.R2.ID), "m": itoa(o.M.ID),
		"g": itoa(o.G.ID)}
}

// seed makes a recipient, a failing recipient, a message and a mailing for u.
func (f *fixture) seed(t *testing.T, u *simplesender.User) objects {
	t.Helper()
	ctx, ac := context.Background(), actor(u)
	if u.Role == simplesender.RoleManager {
		// Managers create nothing: these are the objects of a user who
		// became a manager later.
		before := *u
		before.Role = simplesender.RoleUser
		ac = actor(&before)
	}
	var o objects
	o.R = &simplesender.Recipient{Email: strings.Replace(f.email(), "@", ".ok@", 1), FirstName: "Ivan", LastName: "Petrov"}
	o.R2 = &simplesender.Recipient{Email: strings.Replace(f.email(), "@", ".fail@", 1), FirstName: "Olga"}
	for _, r := range []*simplesender.Recipient{o.R, o.R2} {
		if err := f.env.App.CreateRecipient(ctx, ac, r); err != nil {
			t.Fatal(err)
		}
	}
	o.M = &simplesender.Message{Subject: "Hello {{first_name}}", BodyText: "Dear {{full_name}},\nnews."}
	if err := f.env.App.CreateMessage(ctx, ac, o.M); err != nil {
		t.Fatal(err)
	}
	var err error
	o.G, err = f.env.App.CreateMailing(ctx, ac, app.MailingInput{Name: "News " + u.Email, MessageID: o.M.ID,
		RecipientIDs: []int64{o.R.ID, o.R2.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// runMu serialises fake engine runs: each claims every due delivery of its
// database, and must find only its own.
var runMu sync.Mutex

// run does what the delivery engine does for mailing id, which must be due
// (SendNow): it starts the run, and sends every delivery: addresses with
// "fail" are refused (550), the others accepted (250).
func (f *fixture) run(t *testing.T, id int64) *simplesender.Run {
	t.Helper()
	runMu.Lock()
	defer runMu.Unlock()
	ctx, db, at := context.Background(), f.env.DB, time.Now()
	run := f.env.StartDue(t, id, at)
	claimed, err := db.ClaimDeliveries(ctx, "test", at, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var outs []store.Outcome
	for _, c := range claimed {
		if c.RunID != run.ID {
			t.Fatalf("claimed delivery %d of run %d, not of run %d", c.ID, c.RunID, run.ID)
		}
		// The claim does not say whose the delivery is: the engine knows it
		// from the run.
		o := store.Outcome{DeliveryID: c.ID, RunID: c.RunID, MailingID: id, OwnerID: run.OwnerID, Email: c.Email,
			Status: simplesender.DeliverySent, Attempted: true, At: at, Code: 250, Enhanced: "2.0.0", Response: "OK queued"}
		if strings.Contains(c.Email, "fail") {
			o.Status, o.Code, o.Enhanced, o.Response = simplesender.DeliveryFailed, 550, "5.1.1", "<b>no such user</b>"
		}
		outs = append(outs, o)
	}
	if err := db.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	f.env.App.FiguresChanged(ctx, []int64{run.OwnerID})
	return run
}

// sent seeds u's objects and sends the mailing once.
func (f *fixture) sent(t *testing.T, u *simplesender.User) objects {
	t.Helper()
	o := f.seed(t, u)
	if err := f.env.App.SendNow(context.Background(), actor(u), o.G.ID, "now"); err != nil {
		t.Fatal(err)
	}
	f.run(t, o.G.ID)
	return o
}
