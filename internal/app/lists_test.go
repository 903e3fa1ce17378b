package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
)

// TestListsAuthorization: a user's list does not exist for another user
// (NotFound, also as a filter of the recipients page and as a bulk or import
// target), a manager sees it but changes nothing, an admin may rename it.
func TestListsAuthorization(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ann := &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		bob := &app.Actor{User: env.User(t, "bob@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		mgr := &app.Actor{User: env.User(t, "mgr@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		adm := &app.Actor{User: env.User(t, "adm@example.com", simplesender.RoleAdmin, simplesender.StatusActive)}
		l, err := env.App.CreateList(ctx, ann, "  Clients  ")
		if err != nil || l.Name != "Clients" {
			t.Fatalf("create: %+v, %v", l, err)
		}
		if _, err := env.App.CreateList(ctx, ann, "CLIENTS"); !hasField(err, "name", "error.list.exists") {
			t.Errorf("same name again: %v", err)
		}
		if _, err := env.App.CreateList(ctx, ann, ""); !hasField(err, "name", "error.list.name") {
			t.Errorf("empty name: %v", err)
		}
		if _, err := env.App.GetList(ctx, bob, l.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob reads ann's list: %v, want NotFound", err)
		}
		if _, err := env.App.RenameList(ctx, bob, l.ID, "Mine"); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob renames ann's list: %v, want NotFound", err)
		}
		if err := env.App.DeleteList(ctx, bob, l.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob deletes ann's list: %v, want NotFound", err)
		}
		if _, _, err := env.App.ListRecipients(ctx, bob, 0, store.ListFilter{ListID: l.ID}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob filters by ann's list: %v, want NotFound", err)
		}
		r := &simplesender.Recipient{Email: "b@example.com"}
		if err := env.App.CreateRecipient(ctx, bob, r); err != nil {
			t.Fatal(err)
		}
		_, err = env.App.ApplyToSelected(ctx, bob, app.RecipientSelection{All: true}, app.BulkAddToList, app.BulkTarget{ListID: l.ID})
		if !hasField(err, "list_id", "error.list.unknown") {
			t.Errorf("bob adds his recipients to ann's list: %v", err)
		}
		_, err = env.App.ImportRecipients(ctx, bob, 0, strings.NewReader("email\nx@example.com\n"), app.ImportOptions{ListID: l.ID})
		if !hasField(err, "list_id", "error.list.unknown") {
			t.Errorf("bob imports into ann's list: %v", err)
		}
		if got, err := env.App.GetList(ctx, mgr, l.ID); err != nil || got.Name != "Clients" {
			t.Errorf("manager reads: %+v, %v", got, err)
		}
		if lists, total, err := env.App.ListLists(ctx, mgr, 0, store.ListFilter{}); err != nil || total != 1 || lists[0].ID != l.ID {
			t.Errorf("manager lists: %d, %v", total, err)
		}
		if _, err := env.App.RenameList(ctx, mgr, l.ID, "Mine"); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager renames: %v, want Forbidden", err)
		}
		if _, err := env.App.CreateList(ctx, mgr, "Own"); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager creates: %v, want Forbidden", err)
		}
		if got, err := env.App.RenameList(ctx, adm, l.ID, "VIP clients"); err != nil || got.Name != "VIP clients" {
			t.Errorf("admin renames: %+v, %v", got, err)
		}
		if err := env.App.DeleteList(ctx, ann, l.ID); err != nil {
			t.Errorf("owner deletes: %v", err)
		}
	})
}

func hasField(err error, field, msg string) bool {
	var e *simplesender.Error
	return simplesender.IsKind(err, simplesender.KindInvalid) && asErr(err, &e) && e.Fields[field] == msg
}

func asErr(err error, e **simplesender.Error) bool {
	de, ok := err.(*simplesender.Error)
	*e = de
	return ok
}

// TestBulkListsAndTags: "every recipient matching a filter" is added to a
// list, tagged, untagged and taken off the list in batches, the counts say
// how many changed, and tags set on the form are shown back.
func TestBulkListsAndTags(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ann := &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		// More than one batch of 500.
		if err := env.DB.Store().BulkRecipients(ctx, ann.User.ID, 1203, func(i int) simplesender.Recipient {
			name := "Anna"
			if i%3 == 0 {
				name = "Zoe"
			}
			return simplesender.Recipient{Email: fmt.Sprintf("p%04d@example.com", i), FirstName: name}
		}); err != nil {
			t.Fatal(err)
		}
		l, _ := env.App.CreateList(ctx, ann, "Zoes")
		n, err := env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true, Query: "zoe"}, app.BulkAddToList, app.BulkTarget{ListID: l.ID})
		if err != nil || n != 401 {
			t.Fatalf("add zoes to the list: %d, %v; want 401", n, err)
		}
		n, err = env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true, ListID: l.ID}, app.BulkTag, app.BulkTarget{Tag: " VIP "})
		if err != nil || n != 401 {
			t.Fatalf("tag the list: %d, %v", n, err)
		}
		page, total, err := env.App.ListRecipients(ctx, ann, 0, store.ListFilter{Tag: "vip", Limit: 5})
		if err != nil || total != 401 || !slices.Equal(page[0].Tags, []string{"vip"}) {
			t.Fatalf("filtered by tag: %d, %v, %v", total, err, page[0].Tags)
		}
		if _, err := env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true}, app.BulkTag, app.BulkTarget{Tag: "a,b"}); !hasField(err, "tag", "error.tag.invalid") {
			t.Errorf("a tag with a comma: %v", err)
		}
		n, _ = env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{IDs: []int64{page[0].ID}}, app.BulkUntag, app.BulkTarget{Tag: "vip"})
		if n != 1 {
			t.Errorf("untag one: %d", n)
		}
		n, _ = env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true, ListID: l.ID}, app.BulkRemoveFromList, app.BulkTarget{ListID: l.ID})
		if got, _ := env.App.GetList(ctx, ann, l.ID); n != 401 || got.Members != 0 {
			t.Errorf("remove all from the list: %d, %d left", n, got.Members)
		}

		// Suppressing every Zoe (over a batch): their addresses go on the
		// list once each, the recipients stay, the audit log says it once.
		n, err = env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true, Query: "zoe"}, app.BulkSuppress, app.BulkTarget{})
		if err != nil || n != 401 {
			t.Fatalf("suppress the zoes: %d, %v; want 401", n, err)
		}
		if n, _ = env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{All: true}, app.BulkSuppress, app.BulkTarget{}); n != 1203-401 {
			t.Errorf("suppress everyone after the zoes: %d newly suppressed, want %d", n, 1203-401)
		}
		if x, err := env.App.IsSuppressed(ctx, ann.User.ID, "p0003@example.com"); err != nil || x == nil || x.Reason != simplesender.ReasonManual {
			t.Errorf("a Zoe's address: %+v %v", x, err)
		}
		if _, total, _ := env.App.ListRecipients(ctx, ann, 0, store.ListFilter{Limit: 1}); total != 1203 {
			t.Errorf("recipients after suppressing: %d, want all 1203 kept", total)
		}
		if ev, err := env.App.SuppressionAudit(ctx, ann, 0, 10); err != nil || len(ev) != 2 || ev[0].Action != "suppression.bulk" {
			t.Errorf("audit of the bulk suppressions: %+v %v", ev, err)
		}

		r := page[1]
		r.Tags = []string{"Paid", "new", "paid"}
		if err := env.App.UpdateRecipient(ctx, ann, r); err != nil {
			t.Fatal(err)
		}
		back, _ := env.App.GetRecipient(ctx, ann, r.ID)
		if !slices.Equal(back.Tags, []string{"new", "paid"}) {
			t.Errorf("tags after the form: %v", back.Tags)
		}
		back.Tags = nil // an API update without tags keeps them
		back.Comment = "x"
		env.App.UpdateRecipient(ctx, ann, back)
		if again, _ := env.App.GetRecipient(ctx, ann, r.ID); len(again.Tags) != 2 {
			t.Errorf("tags after an update without them: %v", again.Tags)
		}
	})
}

// TestImportIntoList: everyone in an imported file, new or already there,
// lands on the list.
func TestImportIntoList(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		im := newImporter(t, env, "imp@example.com")
		im.mustImport("email\nold@example.com\n", app.ImportOptions{})
		l, _ := env.App.CreateList(ctx, im.ac, "Fair 2026")
		res := im.mustImport("email,first_name\nOLD@example.com,Ann\nnew@example.com,Bob\n", app.ImportOptions{ListID: l.ID})
		if res.Imported != 1 {
			t.Errorf("imported %d, want 1", res.Imported)
		}
		members, total, _ := env.App.ListRecipients(ctx, im.ac, 0, store.ListFilter{ListID: l.ID})
		if total != 2 || len(members) != 2 {
			t.Errorf("members: %d, want both addresses of the file", total)
		}
	})
}

// TestMailingAudienceFromLists: a mailing to a list minus a tag, plus one
// chosen recipient, is sent once per address when its run starts; the
// mailing reads back its definition and the count; the checkbox way (chosen
// recipients only) still needs someone, and another user's list is refused.
func TestMailingAudienceFromLists(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ann := &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		bob := &app.Actor{User: env.User(t, "bob@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		var ids []int64
		for i := range 6 {
			r := &simplesender.Recipient{Email: fmt.Sprintf("a%d@example.com", i)}
			if i < 2 {
				r.Tags = []string{"x"}
			}
			if err := env.App.CreateRecipient(ctx, ann, r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		list, _ := env.App.CreateList(ctx, ann, "A")
		env.App.ApplyToSelected(ctx, ann, app.RecipientSelection{IDs: ids[:4]}, app.BulkAddToList, app.BulkTarget{ListID: list.ID})
		msg := &simplesender.Message{Subject: "Hi", BodyText: "Hi"}
		env.App.CreateMessage(ctx, ann, msg)
		in := app.MailingInput{Name: "m", MessageID: msg.ID, RecipientIDs: []int64{ids[3], ids[5]}, Audience: []simplesender.AudienceRule{
			{Kind: simplesender.AudienceList, ListID: list.ID},
			{Kind: simplesender.AudienceTag, Tag: "X", Exclude: true},
		}}
		m, err := env.App.CreateMailing(ctx, ann, in)
		if err != nil {
			t.Fatal(err)
		}
		rules, n, err := env.App.MailingAudience(ctx, m)
		if err != nil || len(rules) != 2 || rules[0].ListName != "A" || rules[1].Tag != "x" || n != 3 {
			t.Errorf("audience: %+v, %d, %v; want list A minus tag x, 3 recipients", rules, n, err)
		}
		if err := env.App.SendNow(ctx, ann, m.ID, simplesender.TriggerNow); err != nil {
			t.Fatal(err)
		}
		run := env.StartDue(t, m.ID, env.App.Now())
		page, err := env.App.Deliveries(ctx, ann, m.ID, run.ID, store.DeliveryFilter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range page.Deliveries {
			got = append(got, d.Email)
		}
		slices.Sort(got)
		if want := []string{"a2@example.com", "a3@example.com", "a5@example.com"}; !slices.Equal(got, want) {
			t.Errorf("deliveries: %v, want %v (a3 once, a0 and a1 tagged x out)", got, want)
		}

		bobList, _ := env.App.CreateList(ctx, bob, "B")
		_, err = env.App.CreateMailing(ctx, ann, app.MailingInput{Name: "m2", MessageID: msg.ID,
			Audience: []simplesender.AudienceRule{{Kind: simplesender.AudienceList, ListID: bobList.ID}}})
		if !hasField(err, "audience", "error.list.unknown") {
			t.Errorf("ann's mailing to bob's list: %v", err)
		}
		_, err = env.App.CreateMailing(ctx, ann, app.MailingInput{Name: "m3", MessageID: msg.ID,
			Audience: []simplesender.AudienceRule{{Kind: simplesender.AudienceTag, Tag: "x", Exclude: true}}})
		if !hasField(err, "recipient_ids", "error.mailing.recipients_required") {
			t.Errorf("only an exclusion: %v", err)
		}
		// A copy keeps the lists and tags.
		cp, err := env.App.DuplicateMailing(ctx, ann, m.ID, "en")
		if err != nil {
			t.Fatal(err)
		}
		if rules, n, _ := env.App.MailingAudience(ctx, cp); len(rules) != 2 || n != 3 {
			t.Errorf("the copy's audience: %+v, %d", rules, n)
		}
		// The checkbox way: chosen recipients only.
		m4, err := env.App.CreateMailing(ctx, ann, app.MailingInput{Name: "m4", MessageID: msg.ID, RecipientIDs: ids[:2]})
		if err != nil || m4.RecipientCount != 2 {
			t.Fatalf("checkbox mailing: %+v, %v", m4, err)
		}
		if rules, n, _ := env.App.MailingAudience(ctx, m4); len(rules) != 0 || n != 2 {
			t.Errorf("checkbox mailing's audience: %v, %d", rules, n)
		}
	})
}
