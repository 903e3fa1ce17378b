package app_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
)

// segmentFixture is ann's recipients a0..a5 and what the conditions test.
type segmentFixture struct {
	env      *apptest.Env
	ann, bob *app.Actor
	ids      []int64
	list     *simplesender.List
	mailing  *simplesender.Mailing
	bobList  *simplesender.List
	bobMail  *simplesender.Mailing
}

// newSegmentFixture gives ann six recipients: a0 and a1 on list A, a1 and
// a2 tagged vip, a3 named Ivanov with a comment, a4 added in 2020; a
// mailing sent to a0..a3 that was delivered to a0, failed for a1, bounced
// for a2 and reported as spam by a3; a5 unsubscribed from it. Bob has a
// list and a mailing of his own.
func newSegmentFixture(t *testing.T, env *apptest.Env) *segmentFixture {
	f := &segmentFixture{env: env}
	f.ann = &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
	f.bob = &app.Actor{User: env.User(t, "bob@example.com", simplesender.RoleUser, simplesender.StatusActive)}
	for i := range 6 {
		r := &simplesender.Recipient{Email: fmt.Sprintf("a%d@example.com", i)}
		switch i {
		case 1, 2:
			r.Tags = []string{"vip"}
		case 3:
			r.LastName, r.Comment = "Ivanov", "met at the fair"
		}
		if err := env.App.CreateRecipient(ctx, f.ann, r); err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, r.ID)
	}
	f.list, _ = env.App.CreateList(ctx, f.ann, "A")
	if _, err := env.App.ApplyToSelected(ctx, f.ann, app.RecipientSelection{IDs: f.ids[:2]}, app.BulkAddToList, app.BulkTarget{ListID: f.list.ID}); err != nil {
		t.Fatal(err)
	}
	db := env.App.DB
	if _, err := db.Writer().Exec(db.Rebind("UPDATE recipients SET created_at = ? WHERE id = ?"), time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC), f.ids[4]); err != nil {
		t.Fatal(err)
	}
	msg := &simplesender.Message{Subject: "Hi", BodyText: "Hi"}
	if err := env.App.CreateMessage(ctx, f.ann, msg); err != nil {
		t.Fatal(err)
	}
	m, err := env.App.CreateMailing(ctx, f.ann, app.MailingInput{Name: "news", MessageID: msg.ID, RecipientIDs: f.ids[:4]})
	if err != nil {
		t.Fatal(err)
	}
	f.mailing = m
	if err := env.App.SendNow(ctx, f.ann, m.ID, simplesender.TriggerNow); err != nil {
		t.Fatal(err)
	}
	run := env.StartDue(t, m.ID, env.App.Now())
	for i, st := range []simplesender.DeliveryStatus{simplesender.DeliverySent, simplesender.DeliveryFailed, simplesender.DeliveryBounced, simplesender.DeliveryComplained} {
		if _, err := db.Writer().Exec(db.Rebind("UPDATE deliveries SET status = ? WHERE run_id = ? AND recipient_id = ?"), string(st), run.ID, f.ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Writer().Exec(db.Rebind(`INSERT INTO suppressions (owner_id, email, reason, mailing_id, created_at)
		VALUES (?, 'a5@example.com', 'unsubscribed', ?, ?)`), f.ann.User.ID, m.ID, env.App.Now()); err != nil {
		t.Fatal(err)
	}
	f.bobList, _ = env.App.CreateList(ctx, f.bob, "B")
	f.bobMail = env.Mailing(t, f.bob, "bob's", "x@example.com")
	return f
}

// members returns the addresses a definition matches, sorted, through the
// recipients page's filter of a saved segment, after checking that the
// live count agrees.
func (f *segmentFixture) members(t *testing.T, d simplesender.SegmentDefinition) []string {
	t.Helper()
	n, err := f.env.App.CountSegmentDefinition(ctx, f.ann, d)
	if err != nil {
		t.Fatalf("count %+v: %v", d, err)
	}
	g, err := f.env.App.CreateSegment(ctx, f.ann, fmt.Sprintf("s%d", time.Now().UnixNano()), d)
	if err != nil {
		t.Fatalf("save %+v: %v", d, err)
	}
	rs, total, err := f.env.App.ListRecipients(ctx, f.ann, 0, store.ListFilter{SegmentID: g.ID, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Email)
	}
	slices.Sort(out)
	if total != n || len(out) != n {
		t.Errorf("%+v: the count says %d, the page %d of %d", d, n, len(out), total)
	}
	return out
}

func cond(field, op string, value any) simplesender.Condition {
	return simplesender.Condition{Field: field, Op: op, Value: value}
}

func addrs(ns ...int) []string {
	var out []string
	for _, n := range ns {
		out = append(out, fmt.Sprintf("a%d@example.com", n))
	}
	return out
}

// TestSegmentConditions: each kind of condition picks exactly the
// recipients it says, "all" and "any" combine them, and the live count,
// the saved segment and the recipients filter agree.
func TestSegmentConditions(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		f := newSegmentFixture(t, env)
		history := func(op string, mailing int64) simplesender.Condition {
			return simplesender.Condition{Field: "history", Op: op, Mailing: mailing}
		}
		m := f.mailing.ID
		cases := []struct {
			name  string
			match string
			conds []simplesender.Condition
			want  []string
		}{
			{"email contains", "all", []simplesender.Condition{cond("email", "contains", "A1@")}, addrs(1)},
			{"email ends with", "all", []simplesender.Condition{cond("email", "ends_with", "4@example.com")}, addrs(4)},
			{"email does not contain", "all", []simplesender.Condition{cond("email", "not_contains", "a1")}, addrs(0, 2, 3, 4, 5)},
			{"email with a percent sign matches it literally", "all", []simplesender.Condition{cond("email", "contains", "%")}, nil},
			{"name is", "all", []simplesender.Condition{cond("name", "eq", "ivanov")}, addrs(3)},
			{"name is empty", "all", []simplesender.Condition{cond("name", "empty", nil)}, addrs(0, 1, 2, 4, 5)},
			{"comment contains", "all", []simplesender.Condition{cond("comment", "contains", "fair")}, addrs(3)},
			{"added before a date", "all", []simplesender.Condition{cond("created", "before", "2021-01-01")}, addrs(4)},
			{"added since a date", "all", []simplesender.Condition{cond("created", "since", "2021-01-01")}, addrs(0, 1, 2, 3, 5)},
			{"on a list", "all", []simplesender.Condition{cond("list", "in", f.list.ID)}, addrs(0, 1)},
			{"not on a list", "all", []simplesender.Condition{cond("list", "not_in", f.list.ID)}, addrs(2, 3, 4, 5)},
			{"has a tag", "all", []simplesender.Condition{cond("tag", "has", "VIP")}, addrs(1, 2)},
			{"has not a tag", "all", []simplesender.Condition{cond("tag", "has_not", "vip")}, addrs(0, 3, 4, 5)},
			{"was sent (bounces and complaints were sent too)", "all", []simplesender.Condition{history("was_sent", m)}, addrs(0, 2, 3)},
			{"was not sent", "all", []simplesender.Condition{history("not_sent", m)}, addrs(1, 4, 5)},
			{"failed", "all", []simplesender.Condition{history("failed", m)}, addrs(1)},
			{"bounced", "all", []simplesender.Condition{history("bounced", 0)}, addrs(2)},
			{"complained", "all", []simplesender.Condition{history("complained", m)}, addrs(3)},
			{"unsubscribed", "all", []simplesender.Condition{history("unsubscribed", m)}, addrs(5)},
			{"all: on the list and tagged", "all", []simplesender.Condition{cond("list", "in", f.list.ID), cond("tag", "has", "vip")}, addrs(1)},
			{"any: on the list or tagged", "any", []simplesender.Condition{cond("list", "in", f.list.ID), cond("tag", "has", "vip")}, addrs(0, 1, 2)},
		}
		for _, c := range cases {
			got := f.members(t, simplesender.SegmentDefinition{Match: c.match, Conditions: c.conds})
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	})
}

// TestSegmentValidation: a definition with an unknown field or operator, a
// value of the wrong type, or another user's list or mailing is refused
// with a message naming the condition; another user's segment does not
// exist for a user (NotFound, as a filter, in an audience, in a bulk
// selection); a manager reads it and changes nothing.
func TestSegmentValidation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		f := newSegmentFixture(t, env)
		bad := []struct {
			name  string
			d     simplesender.SegmentDefinition
			field string
			key   string
		}{
			{"no conditions", simplesender.SegmentDefinition{Match: "all"}, "definition", "error.segment.no_conditions"},
			{"bad match", simplesender.SegmentDefinition{Match: "some", Conditions: []simplesender.Condition{cond("tag", "has", "vip")}}, "definition", "error.segment.match"},
			{"unknown field", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("phone", "eq", "1")}}, "conditions.1", "error.segment.field"},
			{"custom fields are not accepted yet", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("custom:city", "eq", "Moscow")}}, "conditions.1", "error.segment.field"},
			{"operator of another field", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("tag", "has", "vip"), cond("email", "has", "x")}}, "conditions.2", "error.segment.op"},
			{"list id as text", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("list", "in", "A")}}, "conditions.1", "error.segment.list"},
			{"bad date", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("created", "before", "01.02.2024")}}, "conditions.1", "error.segment.date"},
			{"empty text", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("email", "contains", " ")}}, "conditions.1", "error.segment.text"},
			{"bob's list", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("list", "in", f.bobList.ID)}}, "conditions.1", "error.segment.list"},
			{"bob's mailing", simplesender.SegmentDefinition{Conditions: []simplesender.Condition{{Field: "history", Op: "was_sent", Mailing: f.bobMail.ID}}}, "conditions.1", "error.segment.mailing"},
		}
		for _, c := range bad {
			if _, err := env.App.CountSegmentDefinition(ctx, f.ann, c.d); !hasField(err, c.field, c.key) {
				t.Errorf("%s: count: %v, want %s on %s", c.name, err, c.key, c.field)
			}
			if _, err := env.App.CreateSegment(ctx, f.ann, "x", c.d); !hasField(err, c.field, c.key) {
				t.Errorf("%s: save: %v, want %s on %s", c.name, err, c.key, c.field)
			}
		}
		if _, err := simplesender.ParseSegmentDefinition([]byte(`{"match":"all","conditions":[{"field":"tag","op":"has","value":"vip","extra":1}]}`)); !hasField(err, "definition", "error.segment.json") {
			t.Errorf("unknown key: %v", err)
		}

		d := simplesender.SegmentDefinition{Conditions: []simplesender.Condition{cond("tag", "has", "vip")}}
		g, err := env.App.CreateSegment(ctx, f.ann, "VIP", d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.CreateSegment(ctx, f.ann, "vip", d); !hasField(err, "name", "error.segment.exists") {
			t.Errorf("same name: %v", err)
		}
		if _, err := env.App.GetSegment(ctx, f.bob, g.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob reads ann's segment: %v", err)
		}
		if _, err := env.App.UpdateSegment(ctx, f.bob, g.ID, "mine", d); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob changes ann's segment: %v", err)
		}
		if err := env.App.DeleteSegment(ctx, f.bob, g.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob deletes ann's segment: %v", err)
		}
		if _, _, err := env.App.ListRecipients(ctx, f.bob, 0, store.ListFilter{SegmentID: g.ID}); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob filters by ann's segment: %v", err)
		}
		if _, err := env.App.CountSelectedRecipients(ctx, f.bob, app.RecipientSelection{All: true, SegmentID: g.ID}); !hasField(err, "segment_id", "error.segment.unknown") {
			t.Errorf("bob selects by ann's segment: %v", err)
		}
		msg := &simplesender.Message{Subject: "Hi", BodyText: "Hi"}
		env.App.CreateMessage(ctx, f.bob, msg)
		_, err = env.App.CreateMailing(ctx, f.bob, app.MailingInput{Name: "m", MessageID: msg.ID,
			Audience: []simplesender.AudienceRule{{Kind: simplesender.AudienceSegment, SegmentID: g.ID}}})
		if !hasField(err, "audience", "error.segment.unknown") {
			t.Errorf("bob's mailing to ann's segment: %v", err)
		}
		mgr := &app.Actor{User: env.User(t, "mgr@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		if got, err := env.App.GetSegment(ctx, mgr, g.ID); err != nil || got.Name != "VIP" {
			t.Errorf("manager reads: %+v, %v", got, err)
		}
		if rs, _, err := env.App.ListRecipients(ctx, mgr, 0, store.ListFilter{SegmentID: g.ID}); err != nil || len(rs) != 2 {
			t.Errorf("manager filters by ann's segment: %d, %v; want her 2", len(rs), err)
		}
		if _, err := env.App.UpdateSegment(ctx, mgr, g.ID, "x", d); simplesender.IsKind(err, simplesender.KindNotFound) || err == nil {
			t.Errorf("manager changes: %v, want a refusal", err)
		}
	})
}

// TestMailingToSegment: a mailing to a segment plus a list, minus a tag
// and minus another segment, is sent once per address when its run starts
// (a snapshot: a change of the segment later does not touch the run); the
// mailing reads back the rules with the segments' definitions and the
// count.
func TestMailingToSegment(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		f := newSegmentFixture(t, env)
		// a0..a3 were sent the first mailing (any outcome); a1 and a2 are vip.
		got1, err := env.App.CreateSegment(ctx, f.ann, "Got news", simplesender.SegmentDefinition{Match: "any",
			Conditions: []simplesender.Condition{{Field: "history", Op: "was_sent", Mailing: f.mailing.ID}, {Field: "history", Op: "failed", Mailing: f.mailing.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		complained, err := env.App.CreateSegment(ctx, f.ann, "Complained", simplesender.SegmentDefinition{
			Conditions: []simplesender.Condition{{Field: "history", Op: "complained"}}})
		if err != nil {
			t.Fatal(err)
		}
		msg := &simplesender.Message{Subject: "Again", BodyText: "Again"}
		env.App.CreateMessage(ctx, f.ann, msg)
		m, err := env.App.CreateMailing(ctx, f.ann, app.MailingInput{Name: "again", MessageID: msg.ID, Audience: []simplesender.AudienceRule{
			{Kind: simplesender.AudienceSegment, SegmentID: got1.ID},
			{Kind: simplesender.AudienceList, ListID: f.list.ID},
			{Kind: simplesender.AudienceTag, Tag: "vip", Exclude: true},
			{Kind: simplesender.AudienceSegment, SegmentID: complained.ID, Exclude: true},
		}})
		if err != nil {
			t.Fatal(err)
		}
		rules, n, err := env.App.MailingAudience(ctx, m)
		if err != nil || len(rules) != 4 || rules[0].SegmentName != "Got news" || rules[0].Segment == nil || len(rules[0].Segment.Conditions) != 2 || n != 1 {
			t.Fatalf("audience: %+v, %d, %v; want 4 rules, the segment read back, 1 recipient", rules, n, err)
		}
		if err := env.App.SendNow(ctx, f.ann, m.ID, simplesender.TriggerNow); err != nil {
			t.Fatal(err)
		}
		run := env.StartDue(t, m.ID, env.App.Now())
		// The segment changes after the start: the run keeps its snapshot.
		if _, err := env.App.UpdateSegment(ctx, f.ann, got1.ID, "Got news", simplesender.SegmentDefinition{
			Conditions: []simplesender.Condition{cond("email", "contains", "example")}}); err != nil {
			t.Fatal(err)
		}
		page, err := env.App.Deliveries(ctx, f.ann, m.ID, run.ID, store.DeliveryFilter{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range page.Deliveries {
			got = append(got, d.Email)
		}
		slices.Sort(got)
		// a0..a3 and list A (a0, a1), minus vip (a1, a2), minus complained (a3).
		if want := addrs(0); !slices.Equal(got, want) {
			t.Errorf("deliveries: %v, want %v", got, want)
		}
		if _, n, _ := env.App.MailingAudience(ctx, m); n != 3 {
			t.Errorf("the audience after the change: %d, want 3 (a0, a4, a5)", n)
		}
		// Deleting a segment takes it out of the audience.
		if err := env.App.DeleteSegment(ctx, f.ann, complained.ID); err != nil {
			t.Fatal(err)
		}
		if rules, _, _ := env.App.MailingAudience(ctx, m); len(rules) != 3 {
			t.Errorf("rules after deleting a segment: %+v", rules)
		}
	})
}
