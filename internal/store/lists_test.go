package store_test

import (
	"fmt"
	"slices"
	"testing"

	"simplesender"
	"simplesender/internal/store"
	"simplesender/internal/store/storetest"
)

// addRecipients stores recipients with the given addresses for owner and
// returns their ids in the same order.
func addRecipients(t *testing.T, s *store.Store, owner int64, emails ...string) []int64 {
	t.Helper()
	var ids []int64
	for _, e := range emails {
		r := &simplesender.Recipient{OwnerID: owner, Email: e}
		if err := s.CreateRecipient(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func emailsOf(rs []*simplesender.Recipient) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Email)
	}
	slices.Sort(out)
	return out
}

// TestListsAndTags: lists are per owner with unique names, members and tags
// are added and taken in bulk (other owners' recipients are never touched),
// and the recipients list filters by them.
func TestListsAndTags(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		s := db.Store()
		ann := createUser(t, s, "ann@example.com")
		bob := createUser(t, s, "bob@example.com")
		ids := addRecipients(t, s, ann.ID, "a1@example.com", "a2@example.com", "a3@example.com")
		bobs := addRecipients(t, s, bob.ID, "b1@example.com")

		clients := &simplesender.List{OwnerID: ann.ID, Name: "Clients"}
		if err := s.CreateList(ctx, clients); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateList(ctx, &simplesender.List{OwnerID: ann.ID, Name: "clients"}); !simplesender.IsKind(err, simplesender.KindConflict) {
			t.Errorf("second list named clients: %v, want Conflict", err)
		}
		if err := s.CreateList(ctx, &simplesender.List{OwnerID: bob.ID, Name: "Clients"}); err != nil {
			t.Errorf("another owner's list of the same name: %v", err)
		}
		n, err := s.AddListMembers(ctx, ann.ID, clients.ID, append(ids[:2:2], bobs...))
		if err != nil || n != 2 {
			t.Fatalf("add members: %d, %v; want 2 (bob's recipient is not ann's)", n, err)
		}
		if n, _ := s.AddListMembers(ctx, ann.ID, clients.ID, ids); n != 1 {
			t.Errorf("adding again: %d new members, want 1", n)
		}
		if n, _ := s.AddListMembers(ctx, bob.ID, clients.ID, bobs); n != 0 {
			t.Errorf("bob adds to ann's list: %d, want 0", n)
		}
		got, err := s.ListByID(ctx, ann.ID, clients.ID)
		if err != nil || got.Members != 3 || got.Name != "Clients" {
			t.Fatalf("list: %+v, %v", got, err)
		}
		if _, err := s.ListByID(ctx, bob.ID, clients.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob reads ann's list: %v, want NotFound", err)
		}
		if n, _ := s.RemoveListMembers(ctx, ann.ID, clients.ID, ids[2:]); n != 1 {
			t.Errorf("remove: %d, want 1", n)
		}

		if n, err := s.TagRecipients(ctx, ann.ID, "vip", append(ids[1:], bobs...)); err != nil || n != 2 {
			t.Errorf("tag: %d, %v; want 2", n, err)
		}
		members, total, err := s.ListRecipients(ctx, ann.ID, store.ListFilter{ListID: clients.ID})
		if err != nil || total != 2 || !slices.Equal(emailsOf(members), []string{"a1@example.com", "a2@example.com"}) {
			t.Errorf("members of clients: %v (%d), %v", emailsOf(members), total, err)
		}
		vip, total, _ := s.ListRecipients(ctx, ann.ID, store.ListFilter{Tag: "vip"})
		if total != 2 || !slices.Equal(emailsOf(vip), []string{"a2@example.com", "a3@example.com"}) {
			t.Errorf("ann's vip: %v", emailsOf(vip))
		}
		both, _, _ := s.ListRecipients(ctx, ann.ID, store.ListFilter{Tag: "vip", ListID: clients.ID})
		if !slices.Equal(emailsOf(both), []string{"a2@example.com"}) {
			t.Errorf("vip clients: %v", emailsOf(both))
		}
		if err := s.LoadTags(ctx, vip); err != nil || !slices.Equal(vip[0].Tags, []string{"vip"}) {
			t.Errorf("tags loaded: %v, %v", vip[0].Tags, err)
		}
		if tags, _ := s.OwnerTags(ctx, ann.ID, 10); !slices.Equal(tags, []string{"vip"}) {
			t.Errorf("ann's tags: %v", tags)
		}
		if n, _ := s.CountSelectedRecipients(ctx, ann.ID, store.RecipientSelection{All: true, ListID: clients.ID, Tag: "vip"}); n != 1 {
			t.Errorf("selection of vip clients: %d, want 1", n)
		}
		if n, _ := s.UntagRecipients(ctx, ann.ID, "vip", ids); n != 2 {
			t.Errorf("untag: %d, want 2", n)
		}
		if err := s.SetRecipientTags(ctx, ann.ID, ids[0], []string{"new", "paid"}); err != nil {
			t.Fatal(err)
		}
		one, _ := s.RecipientByID(ctx, ann.ID, ids[0])
		rs := []*simplesender.Recipient{one}
		if s.LoadTags(ctx, rs); !slices.Equal(one.Tags, []string{"new", "paid"}) {
			t.Errorf("tags after set: %v", one.Tags)
		}

		// An import puts its addresses, in any case, on a list.
		if err := s.AddListMembersByEmail(ctx, ann.ID, clients.ID, []string{"A3@Example.com", "nobody@example.com"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ListByID(ctx, ann.ID, clients.ID); got.Members != 3 {
			t.Errorf("members after import: %d, want 3", got.Members)
		}
		if err := s.DeleteList(ctx, ann.ID, clients.ID); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.ListRecipients(ctx, ann.ID, store.ListFilter{}); total != 3 {
			t.Errorf("recipients after deleting the list: %d, want 3", total)
		}
	})
}

// TestAudienceResolvedAtStart: a mailing to "list A, plus one chosen
// recipient, minus tag X and minus list B" gets, when its run starts, one
// delivery per address of that set; later changes to the list do not change
// the run.
func TestAudienceResolvedAtStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		rig := newReportRig(t, db, "audience@example.com")
		s := db.Store()
		owner := rig.owner.ID
		var emails []string
		for i := range 8 {
			emails = append(emails, fmt.Sprintf("p%d@example.com", i))
		}
		ids := addRecipients(t, s, owner, emails...)
		a := &simplesender.List{OwnerID: owner, Name: "A"}
		b := &simplesender.List{OwnerID: owner, Name: "B"}
		for _, l := range []*simplesender.List{a, b} {
			if err := s.CreateList(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		s.AddListMembers(ctx, owner, a.ID, ids[:6])  // p0..p5
		s.AddListMembers(ctx, owner, b.ID, ids[5:6]) // p5
		s.TagRecipients(ctx, owner, "x", ids[1:3])   // p1, p2
		m := &simplesender.Mailing{OwnerID: owner, MessageID: rig.msg.ID}
		// p0 chosen by hand too (once in the run), and p7.
		if err := s.CreateMailing(ctx, m, []int64{ids[0], ids[7]}); err != nil {
			t.Fatal(err)
		}
		rules := []simplesender.AudienceRule{
			{Kind: simplesender.AudienceList, ListID: a.ID},
			{Kind: simplesender.AudienceTag, Exclude: true, Tag: "x"},
			{Kind: simplesender.AudienceList, Exclude: true, ListID: b.ID},
		}
		if err := s.SetMailingAudience(ctx, m.ID, rules); err != nil {
			t.Fatal(err)
		}
		back, err := s.MailingAudience(ctx, m.ID)
		if err != nil || len(back) != 3 || back[0].ListName != "A" || back[1].Tag != "x" || !back[2].Exclude {
			t.Fatalf("audience read back: %+v, %v", back, err)
		}
		want := []string{"p0@example.com", "p3@example.com", "p4@example.com", "p7@example.com"}
		if n, err := s.CountAudience(ctx, owner, m.ID); err != nil || n != len(want) {
			t.Errorf("count: %d, %v; want %d", n, err, len(want))
		}
		now := db.Now()
		var run *simplesender.Run
		err = db.InTx(ctx, func(s *store.Store) error {
			if err := s.RequestStart(ctx, owner, m.ID, now, simplesender.RunSend, "now", 0); err != nil {
				return err
			}
			run, err = s.StartDue(ctx, m.ID, now)
			return err
		})
		if err != nil || run == nil {
			t.Fatalf("start: %v", err)
		}
		s.AddListMembers(ctx, owner, a.ID, ids[6:7]) // after the start: not in this run
		ds, total, err := s.ListDeliveries(ctx, run.ID, store.DeliveryFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Email)
		}
		slices.Sort(got)
		if total != len(want) || !slices.Equal(got, want) {
			t.Errorf("deliveries: %v (%d), want %v", got, total, want)
		}

		// An audience of an empty list only: nobody to send to.
		empty := &simplesender.List{OwnerID: owner, Name: "Empty"}
		s.CreateList(ctx, empty)
		m2 := &simplesender.Mailing{OwnerID: owner, MessageID: rig.msg.ID}
		s.CreateMailing(ctx, m2, nil)
		s.SetMailingAudience(ctx, m2.ID, []simplesender.AudienceRule{{Kind: simplesender.AudienceList, ListID: empty.ID}})
		err = db.InTx(ctx, func(s *store.Store) error {
			return s.RequestStart(ctx, owner, m2.ID, now, simplesender.RunSend, "now", 0)
		})
		if err != simplesender.ErrNoRecipients {
			t.Errorf("start to an empty list: %v, want ErrNoRecipients", err)
		}
	})
}
