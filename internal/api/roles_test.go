package api

import (
	"context"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestManagerIsToldWhy: a manager refused a change gets 403 with a message
// in their language that says what managers may do, for their own data too.
func TestManagerIsToldWhy(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t, storetest.NewURL(t, "sqlite"))
	mine := f.seed(t, f.users["manager"])
	for lang, want := range map[string]string{
		"en": "Managers only view data, block users and switch mailings off and on",
		"ru": "Менеджер только просматривает данные, блокирует пользователей, отключает и включает рассылки",
	} {
		for _, q := range []req{
			{method: "POST", path: "/recipients", body: `{"email":"new@example.com"}`},
			{method: "PATCH", path: "/mailings/" + itoa(mine.G.ID), body: `{"name":"Mine"}`},
			{method: "POST", path: "/mailings/" + itoa(mine.G.ID) + "/send"},
		} {
			q.bearer, q.header = f.tokens["manager"], []string{"Accept-Language", lang}
			f.do(t, q).want(t, 403).has(t, `"code":"forbidden"`, want)
		}
	}
}

// TestAdminChangesAreRecorded: an admin's change to another user's mailing
// through the API is in the audit log with the admin and the owner, and the
// owner's mailing carries the admin's mark.
func TestAdminChangesAreRecorded(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t, storetest.NewURL(t, "sqlite"))
	o := f.seed(t, f.users["owner"])
	f.do(t, req{method: "POST", path: "/mailings/" + itoa(o.G.ID) + "/send", bearer: f.tokens["admin"]}).want(t, 202)
	ctx := context.Background()
	events, err := f.env.DB.Store().AuditFor(ctx, "mailing", o.G.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	admin, owner := f.users["admin"], f.users["owner"]
	if len(events) != 1 || events[0].Action != "mailing.send" || events[0].ActorID != admin.ID || events[0].OwnerID != owner.ID {
		t.Fatalf("audit: %+v, want mailing.send by admin %d of owner %d", events, admin.ID, owner.ID)
	}
	mark, err := f.env.DB.Store().AdminChange(ctx, "mailing", o.G.ID)
	if err != nil || mark == nil || mark.AdminEmail != admin.Email {
		t.Fatalf("admin mark: %+v, %v", mark, err)
	}
}
