package store_test

import (
	"testing"

	"simplesender"
	"simplesender/internal/store/storetest"
)

// TestAdminChanges: an admin's mark on a recipient, message or mailing is
// read back with the admin's address and the time; objects never marked
// have none; an unknown type or id is NotFound; and the audit event keeps
// whose object it was.
func TestAdminChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		s := storetest.Open(t, url).Store()
		owner, admin := createUser(t, s, "owner@example.com"), createUser(t, s, "admin@example.com")
		r := &simplesender.Recipient{OwnerID: owner.ID, Email: "r@example.org"}
		if err := s.CreateRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
		m := &simplesender.Message{OwnerID: owner.ID, Subject: "S", BodyText: "B"}
		if err := s.CreateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		g := &simplesender.Mailing{OwnerID: owner.ID, MessageID: m.ID}
		if err := s.CreateMailing(ctx, g, []int64{r.ID}); err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{"recipient": r.ID, "message": m.ID, "mailing": g.ID}
		for target, id := range ids {
			if got, err := s.AdminChange(ctx, target, id); err != nil || got != nil {
				t.Fatalf("%s never changed by an admin: %+v, %v", target, got, err)
			}
			if err := s.MarkAdminChange(ctx, target, id, admin.ID); err != nil {
				t.Fatal(err)
			}
			got, err := s.AdminChange(ctx, target, id)
			if err != nil || got == nil || got.AdminID != admin.ID || got.AdminEmail != "admin@example.com" || got.At.IsZero() {
				t.Fatalf("%s after an admin's change: %+v, %v", target, got, err)
			}
		}
		for _, bad := range []struct {
			target string
			id     int64
		}{{"recipient", 999999}, {"user", owner.ID}} {
			if err := s.MarkAdminChange(ctx, bad.target, bad.id, admin.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
				t.Errorf("mark %s %d: %v, want NotFound", bad.target, bad.id, err)
			}
			if _, err := s.AdminChange(ctx, bad.target, bad.id); !simplesender.IsKind(err, simplesender.KindNotFound) {
				t.Errorf("read %s %d: %v, want NotFound", bad.target, bad.id, err)
			}
		}
		e := &simplesender.AuditEvent{ActorID: admin.ID, OwnerID: owner.ID, Action: "mailing.send", TargetType: "mailing", TargetID: g.ID}
		if err := s.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		events, err := s.AuditFor(ctx, "mailing", g.ID, 10)
		if err != nil || len(events) != 1 || events[0].OwnerID != owner.ID || events[0].ActorEmail != "admin@example.com" {
			t.Fatalf("audit: %+v, %v", events, err)
		}
		// Events of the admin's own account are not about the owner's data.
		if err := s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: admin.ID, Action: "user.role", TargetType: "user", TargetID: owner.ID}); err != nil {
			t.Fatal(err)
		}
		events, err = s.AuditOfOwner(ctx, owner.ID, 10)
		if err != nil || len(events) != 1 || events[0].Action != "mailing.send" || events[0].TargetID != g.ID {
			t.Fatalf("audit of the owner's data: %+v, %v", events, err)
		}
		if events, err = s.AuditOfOwner(ctx, admin.ID, 10); err != nil || len(events) != 0 {
			t.Fatalf("audit of the admin's data: %+v, %v", events, err)
		}
	})
}

// TestAuditActionForFindsAnOldEvent: the last test sent of a mailing is
// found however many other events came after it (the mailing page once read
// the newest 50 and lost it behind them).
func TestAuditActionForFindsAnOldEvent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		s := storetest.Open(t, url).Store()
		add := func(action, detail string, target int64) {
			t.Helper()
			if err := s.AddAudit(ctx, &simplesender.AuditEvent{Action: action, TargetType: "mailing", TargetID: target, Detail: detail}); err != nil {
				t.Fatal(err)
			}
		}
		add("mailing.test", "first", 7)
		add("mailing.test", "second", 7)
		add("mailing.test", "another mailing's", 8)
		for range 60 {
			add("mailing.edit", "", 7)
		}
		got, err := s.AuditActionFor(ctx, "mailing", 7, "mailing.test", 1)
		if err != nil || len(got) != 1 || got[0].Detail != "second" {
			t.Fatalf("AuditActionFor = %+v, %v; want the second test of mailing 7", got, err)
		}
	})
}
