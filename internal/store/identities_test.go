package store_test

import (
	"testing"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// TestIdentitiesOnEachEngine: a user's first identity is the default, a new
// default replaces it, another user's identity is not found under one's
// own, a run fixes the sender it started with (a later edit does not change
// it), and a mailing naming a deleted identity sends with the default.
func TestIdentitiesOnEachEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		rig := newReportRig(t, db, "ids-owner@example.com")
		other := createUser(t, db.Store(), "ids-other@example.com")
		add := func(owner int64, name, email string, def bool) *simplesender.Identity {
			t.Helper()
			i := &simplesender.Identity{OwnerID: owner, Name: name, Email: email, Default: def}
			if err := db.InTx(ctx, func(s *store.Store) error { return s.CreateIdentity(ctx, i) }); err != nil {
				t.Fatal(err)
			}
			return i
		}
		first := add(rig.owner.ID, "Shop", "news@shop.example", false)
		second := add(rig.owner.ID, "Шоп", "sale@shop.example", false)
		theirs := add(other.ID, "Other", "x@other.example", false)
		list, err := db.Store().ListIdentities(ctx, rig.owner.ID)
		if err != nil || len(list) != 2 || !list[0].Default || list[0].ID != first.ID || list[1].Default {
			t.Fatalf("identities: %+v %v (the first one must be the default)", list, err)
		}
		if _, err := db.Store().IdentityByID(ctx, rig.owner.ID, theirs.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("another user's identity under mine: %v", err)
		}
		second.Default = true
		if err := db.InTx(ctx, func(s *store.Store) error { return s.UpdateIdentity(ctx, rig.owner.ID, second) }); err != nil {
			t.Fatal(err)
		}
		if all, _ := db.Store().ListIdentities(ctx, 0); len(all) != 3 {
			t.Errorf("everyone's identities: %d", len(all))
		}

		m, run := rig.start(t, 2)
		if run.FromEmail != "sale@shop.example" || run.FromName != "Шоп" {
			t.Errorf("run sender %q <%s>, want the default Шоп <sale@shop.example>", run.FromName, run.FromEmail)
		}
		if err := db.Store().SetMailingIdentity(ctx, rig.owner.ID, m.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		first.Email, first.Default = "changed@shop.example", false
		if err := db.InTx(ctx, func(s *store.Store) error { return s.UpdateIdentity(ctx, rig.owner.ID, first) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.Store().RunByID(ctx, run.ID)
		if err != nil || got.FromEmail != "sale@shop.example" {
			t.Errorf("a started run's sender changed with the identity: %q %v", got.FromEmail, err)
		}
		if i, err := db.Store().MailingIdentity(ctx, m.ID); err != nil || i.ID != first.ID {
			t.Errorf("mailing identity: %+v %v", i, err)
		}
		if err := db.Store().DeleteIdentity(ctx, rig.owner.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		if i, err := db.Store().MailingIdentity(ctx, m.ID); err != nil || i.ID != second.ID {
			t.Errorf("mailing identity after its deletion: %+v %v (want the default)", i, err)
		}
		if err := db.Store().DeleteIdentity(ctx, rig.owner.ID, theirs.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("deleting another user's identity: %v", err)
		}
	})
}

// TestDomainsAndKeysOnEachEngine: a domain signs only once verified and
// only with its active keys; a second add of the same domain is a
// conflict; rules of admins are kept per domain.
func TestDomainsAndKeysOnEachEngine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		u := createUser(t, db.Store(), "dom-owner@example.com")
		s := db.Store()
		d := &simplesender.SenderDomain{OwnerID: u.ID, Domain: "shop.example"}
		if err := s.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDomain(ctx, &simplesender.SenderDomain{OwnerID: u.ID, Domain: "shop.example"}); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("same domain twice: %v", err)
		}
		keys := []*simplesender.DKIMKey{
			{DomainID: d.ID, Selector: "ss1r", Algorithm: "rsa", PrivateKey: "sealed", PublicKey: "pub1", State: simplesender.KeyActive},
			{DomainID: d.ID, Selector: "ss2r", Algorithm: "rsa", PrivateKey: "sealed", PublicKey: "pub2", State: simplesender.KeyNext},
		}
		if err := s.AddDKIMKeys(ctx, u.ID, keys...); err != nil {
			t.Fatal(err)
		}
		if k, _ := s.SigningKeys(ctx, u.ID, "shop.example"); len(k) != 0 {
			t.Errorf("an unverified domain signs with %d keys", len(k))
		}
		if err := s.MarkDomainVerified(ctx, u.ID, d.ID, db.Now()); err != nil {
			t.Fatal(err)
		}
		k, err := s.SigningKeys(ctx, u.ID, "SHOP.example")
		if err != nil || len(k) != 1 || k[0].Selector != "ss1r" {
			t.Errorf("signing keys: %+v %v", k, err)
		}
		if ok, _ := s.DomainVerified(ctx, u.ID, "shop.example"); !ok {
			t.Error("verified domain not verified")
		}
		got, err := s.DomainByID(ctx, u.ID, d.ID)
		if err != nil || len(got.Keys) != 2 || !got.Verified() {
			t.Errorf("domain: %+v %v", got, err)
		}
		if err := s.SetDomainRule(ctx, "Bad.example", false, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDomainRule(ctx, "bad.example", true, u.ID); err != nil {
			t.Fatal(err)
		}
		allowed, found, err := s.DomainRule(ctx, "bad.example")
		if err != nil || !found || !allowed {
			t.Errorf("rule: %v %v %v", allowed, found, err)
		}
		if err := s.DeleteDomain(ctx, u.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		if k, _ := s.SigningKeys(ctx, u.ID, "shop.example"); len(k) != 0 {
			t.Errorf("a deleted domain signs with %d keys", len(k))
		}
	})
}
