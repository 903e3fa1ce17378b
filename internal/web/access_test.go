package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender/internal/store/storetest"
)

// TestContentPagesByRole reads every new page as every kind of visitor:
// the owner sees it with its buttons, another user gets 404, managers read
// it without the buttons that change it (and are refused the forms, their
// own "new" forms included, with the reason), admins see it with the
// owner's buttons and may open its forms, and visitors without a session
// are sent to log in.
func TestContentPagesByRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Anna")
		s.seed(t, "other", "Boris")
		login := []string{} // anonymous, blocked and pending: no session
		ownerOnly := func(paths ...string) []string {
			for i := range paths {
				paths[i] = o.path(paths[i])
			}
			return paths
		}
		type page struct {
			path       string
			owner      []string // fragments the owner sees (and readers do not, when in buttons)
			buttons    []string // links and forms only the owner has
			staffSee   []string // what managers and admins see besides
			staffNot   []string
			managerSee []string // what managers see besides
			adminSee   []string // what admins see besides
			form       bool     // a form that changes the owner's object: managers get 403
		}
		pages := []page{
			{path: "/recipients", owner: []string{"active-1@example.net"}, buttons: ownerOnly("/recipients/{R}/edit", "/recipients/{R}/delete"),
				staffSee: []string{"active@example.com", "other@example.com", "Owner"}},
			{path: "/recipients/new", owner: []string{`name="email"`, `name="middle_name"`, `name="comment"`}},
			{path: o.path("/recipients/{R}"), owner: []string{"active-1@example.net", "Anna"}, buttons: ownerOnly("/recipients/{R}/edit", "/recipients/{R}/delete"),
				staffSee: []string{"active@example.com"}, managerSee: []string{"As a manager you can view this"},
				adminSee: []string{"This belongs to active@example.com. As an administrator you may change it"}},
			{path: o.path("/recipients/{R}/edit"), owner: []string{`value="active-1@example.net"`}, form: true},
			{path: o.path("/recipients/{R}/delete"), owner: []string{"Delete this recipient?", `action="` + o.path("/recipients/{R}/delete")}, form: true},
			{path: "/messages", owner: []string{"Hello, {{first_name|friend}}"}, buttons: ownerOnly("/messages/{M}/edit", "/messages/{M}/delete"),
				staffSee: []string{"active@example.com", "other@example.com", o.path("/messages/{M}/preview")}},
			{path: "/messages/new", owner: []string{`name="subject"`, `name="body_text"`, `name="body_html"`, "{{first_name|"}},
			{path: o.path("/messages/{M}"), owner: []string{"Dear {{full_name}}", "&lt;script&gt;parent.alert(1)&lt;/script&gt;"},
				buttons: ownerOnly("/messages/{M}/edit", "/messages/{M}/delete"), staffSee: []string{"active@example.com"},
				managerSee: []string{"As a manager you can view this"}, adminSee: []string{"As an administrator you may change it"}},
			{path: o.path("/messages/{M}/edit"), owner: []string{"Dear {{full_name}}"}, form: true},
			{path: o.path("/messages/{M}/delete"), owner: []string{"This message cannot be deleted: the mailing below uses it."}, form: true},
			{path: o.path("/messages/{M}/preview?recipient={R}"), owner: []string{"Hello, Anna", "Dear Petrov Anna", `sandbox=""`,
				o.path(`src="/messages/{M}/preview.html?recipient={R}"`), "active-1@example.net"}},
			{path: o.path("/messages/{M}/preview"), owner: []string{"Hello, Иван", "Petrov"}},
			{path: "/mailings", owner: []string{"active news", "Created"}, staffSee: []string{"other news", "other@example.com"}},
			{path: "/mailings/new", owner: []string{`name="message_id"`, `name="recipient_ids"`, "active-1@example.net"},
				staffNot: []string{"active-1@example.net"}},
			{path: o.path("/mailings/{G}"), owner: []string{"active news", "Hello, {{first_name|friend}}", "active-1@example.net"},
				buttons:    ownerOnly(`type="datetime-local"`, "/mailings/{G}/send", "/mailings/{G}/edit", "/mailings/{G}/delete", "/mailings/{G}/schedule"),
				staffSee:   []string{"active@example.com", o.path("/mailings/{G}/disable"), "No actions recorded."},
				managerSee: []string{"As a manager you can view this"}, adminSee: []string{"As an administrator you may change it"}},
			// An admin edits with the owner's messages and recipients.
			{path: o.path("/mailings/{G}/edit"), owner: []string{`value="active news"`, "checked", "active-1@example.net"}, form: true,
				// New objects would be the admin's own, of no use in the owner's mailing.
				staffNot: []string{`name="go" value="recipient"`, `name="go" value="message"`}},
			{path: o.path("/mailings/{G}/delete"), owner: []string{"Delete this mailing"}, form: true},
			{path: o.path("/mailings/{G}/recipients"), owner: []string{"active-1@example.net", "1 recipient"}},
			{path: o.path("/mailings/{G}/deliveries"), owner: []string{"has not been sent yet"}},
			{path: o.path("/mailings/{G}/progress.json"), owner: []string{`"status":"created"`, `"running":false`}},
		}
		for _, p := range pages {
			// The owner.
			r := s.do(t, "active", "GET", p.path, nil)
			check(t, "owner GET "+p.path, r, 200, append(append([]string{}, p.owner...), p.buttons...), nil)
			// Another regular user: no such page.
			if strings.HasSuffix(p.path, "/new") || p.path == "/recipients" || p.path == "/messages" || p.path == "/mailings" {
				r = s.do(t, "other", "GET", p.path, nil)
				check(t, "other GET "+p.path, r, 200, nil, []string{"active-1@example.net", "active news"})
			} else {
				r = s.do(t, "other", "GET", p.path, nil)
				check(t, "other GET "+p.path, r, 404, nil, []string{"active-1@example.net", "active news", "Anna"})
			}
			// Managers read, without the owner's buttons, and open no form
			// that changes something, not even a "new" form of their own.
			isNew := strings.HasSuffix(p.path, "/new")
			r = s.do(t, "manager", "GET", p.path, nil)
			if p.form || isNew {
				check(t, "manager GET "+p.path, r, 403, []string{"Managers only view data"}, p.owner)
			} else {
				check(t, "manager GET "+p.path, r, 200, concat(p.owner, p.staffSee, p.managerSee), concat(p.buttons, p.staffNot))
			}
			// Admins see and do what the owner does.
			r = s.do(t, "admin", "GET", p.path, nil)
			if isNew {
				check(t, "admin GET "+p.path, r, 200, p.staffSee, p.staffNot)
			} else {
				check(t, "admin GET "+p.path, r, 200, concat(p.owner, p.buttons, p.staffSee, p.adminSee), p.staffNot)
			}
			// No session: log in first.
			for _, who := range []string{"", "blocked", "pending"} {
				r = s.do(t, who, "GET", p.path, nil)
				check(t, "GET "+p.path+" as "+who, r, 303, login, nil)
				if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/login?next="+url.QueryEscape(p.path)) {
					t.Errorf("GET %s as %q: redirect to %q", p.path, who, loc)
				}
			}
		}
		// Counts: the owner's own, everyone's for staff.
		for path, counts := range map[string][2]string{"/recipients": {"1 recipient", "2 recipients"},
			"/messages": {"1 message", "2 messages"}, "/mailings": {"1 mailing", "2 mailings"}} {
			check(t, "owner's count on "+path, s.do(t, "active", "GET", path, nil), 200, []string{counts[0]}, nil)
			check(t, "manager's count on "+path, s.do(t, "manager", "GET", path, nil), 200, []string{counts[1]}, nil)
		}
		// The preview frame's own route, and unknown ids.
		frame := o.path("/messages/{M}/preview.html?recipient={R}")
		for who, status := range map[string]int{"active": 200, "manager": 200, "admin": 200, "other": 404, "": 303, "blocked": 303} {
			if r := s.do(t, who, "GET", frame, nil); r.status != status {
				t.Errorf("GET %s as %q: %d, want %d", frame, who, r.status, status)
			}
		}
		for _, p := range []string{"/recipients/999999", "/messages/999999", "/mailings/999999", "/mailings/999999/deliveries",
			"/mailings/999999/progress.json", "/messages/999999/preview.html", "/recipients/abc", "/mailings/0/edit"} {
			if r := s.do(t, "manager", "GET", p, nil); r.status != 404 {
				t.Errorf("GET %s: %d, want 404", p, r.status)
			}
		}
	})
}

// TestContentActionsByRole posts every new form as every kind of visitor,
// each on fresh objects of the "active" user: the owner's and the admin's
// change goes through, another user gets 404, managers get 403 (except the
// manager's own actions: disable and enable), and no session is 401.
func TestContentActionsByRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		recipientForm := func(o objs) url.Values {
			return url.Values{"email": {"new-" + itoa(o.R) + "@example.org"}, "first_name": {"Ivan"}}
		}
		tomorrow := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02T15:04")
		messageForm := url.Values{"subject": {"Subj"}, "body_text": {"Text"}}
		cases := []struct {
			path    string
			form    func(o objs) url.Values
			running bool // send the mailing first
			status  map[string]int
		}{
			{path: "/recipients", form: recipientForm,
				status: map[string]int{"active": 303, "other": 303, "manager": 403, "admin": 303}},
			{path: "/recipients/{R}", form: recipientForm,
				status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/recipients/{R}/delete", status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/messages", form: func(objs) url.Values { return messageForm },
				status: map[string]int{"active": 303, "other": 303, "manager": 403, "admin": 303}},
			{path: "/messages/{M}", form: func(objs) url.Values { return messageForm },
				status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			// In use by the mailing: refused with the reason, for the owner too.
			{path: "/messages/{M}/delete", status: map[string]int{"active": 409, "other": 404, "manager": 403, "admin": 409}},
			{path: "/mailings", form: func(o objs) url.Values {
				return url.Values{"message_id": {itoa(o.M)}, "recipient_ids": {itoa(o.R)}}
			}, status: map[string]int{"active": 303, "other": 422, "manager": 403, "admin": 422}},
			{path: "/mailings/{G}", form: func(o objs) url.Values {
				return url.Values{"name": {"x"}, "message_id": {itoa(o.M)}, "recipient_ids": {itoa(o.R)}}
			}, status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/delete", status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/send", status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/schedule", form: func(objs) url.Values { return url.Values{"send_at": {tomorrow}} },
				status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/cancel", running: true, status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/cancel", status: map[string]int{"active": 409, "other": 404, "manager": 403, "admin": 409}},
			{path: "/mailings/{G}/resend", form: func(objs) url.Values { return url.Values{"kind": {"failed"}} },
				status: map[string]int{"active": 409, "other": 404, "manager": 403, "admin": 409}}, // managers may not resend: app refuses before looking at the state
			{path: "/mailings/{G}/disable", status: map[string]int{"active": 403, "other": 404, "manager": 303, "admin": 303}},
			{path: "/mailings/{G}/enable", status: map[string]int{"active": 403, "other": 404, "manager": 303, "admin": 303}},
			{path: "/mailings/{G}/duplicate", status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
			{path: "/mailings/{G}/test", form: func(objs) url.Values { return url.Values{"to_me": {"1"}, "to": {""}} },
				status: map[string]int{"active": 303, "other": 404, "manager": 403, "admin": 303}},
		}
		for _, c := range cases {
			for _, who := range []string{"active", "other", "manager", "admin", "", "blocked"} {
				want, ok := c.status[who]
				if !ok {
					want = 401
					if who != "" && who != "blocked" {
						continue
					}
				}
				o := s.seed(t, "active", "Anna")
				if c.running {
					if err := s.env.App.SendNow(t.Context(), s.actor(t, "active"), o.G, "now"); err != nil {
						t.Fatal(err)
					}
				}
				form := url.Values{}
				if c.form != nil {
					form = c.form(o)
				}
				r := s.do(t, who, "POST", o.path(c.path), form)
				if r.status != want {
					t.Errorf("POST %s as %q: %d, want %d\n%.300s", c.path, who, r.status, want, r.body)
				}
			}
		}
	})
}

// concat joins lists of fragments into a new one.
func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
