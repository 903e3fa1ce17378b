package web_test

import (
	"net/url"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestManagerSeesNoCreateLinks: the lists and the home page offer a manager
// no way to add anything, while a regular user gets them.
func TestManagerSeesNoCreateLinks(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	s.seed(t, "active", "Anna")
	for path, links := range map[string][]string{
		"/recipients": {`href="/recipients/new"`, `href="/recipients/import"`, `action="/recipients/import"`},
		"/messages":   {`href="/messages/new"`},
		"/mailings":   {`href="/mailings/new"`},
		"/":           {`href="/mailings/new"`},
	} {
		check(t, "user "+path, s.do(t, "other", "GET", path, nil), 200, links, nil)
		check(t, "manager "+path, s.do(t, "manager", "GET", path, nil), 200, nil, links)
	}
	check(t, "manager's import form", s.do(t, "manager", "GET", "/recipients/import", nil), 403, []string{"Managers only view data"}, nil)
	r := s.do(t, "manager", "POST", "/recipients/import", url.Values{})
	if r.status != 403 {
		t.Errorf("manager POST /recipients/import: %d, want 403", r.status)
	}
}

// TestOwnerSeesAdminChanges: after an admin edits a user's recipient and
// message and sends their mailing, the owner's pages say that an
// administrator changed them (in the owner's language, without the admin's
// address), and staff see which administrator.
func TestOwnerSeesAdminChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		o := s.seed(t, "active", "Anna")
		untouched := s.seed(t, "active", "Boris")
		for path, form := range map[string]url.Values{
			"/recipients/{R}":    {"email": {"anna@example.org"}, "first_name": {"Anna"}},
			"/messages/{M}":      {"subject": {"Fixed by admin"}, "body_text": {"Text"}},
			"/mailings/{G}/send": {},
		} {
			if r := s.do(t, "admin", "POST", o.path(path), form); r.status != 303 {
				t.Fatalf("admin POST %s: %d\n%.300s", path, r.status, r.body)
			}
		}
		for _, path := range []string{"/recipients/{R}", "/messages/{M}", "/mailings/{G}"} {
			check(t, "owner "+path, s.do(t, "active", "GET", o.path(path), nil), 200,
				[]string{`class="admin-change"`, "Changed by an administrator on "}, []string{"admin@example.com"})
			check(t, "owner in Russian "+path, s.do(t, "active", "GET", o.path(path), nil, "Accept-Language", "ru"), 200,
				[]string{"Изменено администратором "}, nil)
			check(t, "manager "+path, s.do(t, "manager", "GET", o.path(path), nil), 200,
				[]string{"Changed by the administrator admin@example.com on "}, nil)
			check(t, "owner, untouched "+path, s.do(t, "active", "GET", untouched.path(path), nil), 200, nil,
				[]string{`class="admin-change"`})
		}
		// The mailing's audit, shown to staff, names the admin.
		check(t, "audit", s.do(t, "manager", "GET", o.path("/mailings/{G}"), nil), 200,
			[]string{"<td>admin@example.com</td><td>sent the mailing</td>"}, nil)
		check(t, "audit in Russian", s.do(t, "manager", "GET", o.path("/mailings/{G}"), nil, "Accept-Language", "ru"), 200,
			[]string{"<td>admin@example.com</td><td>отправил(а) рассылку</td>"}, nil)
		// The owner's user page lists every change others made to their data.
		user := "/users/" + itoa(s.ids["active"])
		check(t, "owner's user page", s.do(t, "manager", "GET", user, nil), 200, []string{"Changes to this user&#39;s data by others",
			o.path(`changed the recipient <a href="/recipients/{R}">`), o.path(`changed the message <a href="/messages/{M}">`),
			o.path(`sent the mailing <a href="/mailings/{G}">`)}, []string{"Nobody else has changed"})
		check(t, "another user's page", s.do(t, "admin", "GET", "/users/"+itoa(s.ids["other"]), nil, "Accept-Language", "ru"), 200,
			[]string{"Никто другой не менял получателей, сообщения и рассылки этого пользователя."}, []string{"изменил(а) получателя"})
	})
}

// TestManagerWithNothingToSee: on an empty service a manager is not invited
// to create a first mailing and the lists do not speak of "your" data.
func TestManagerWithNothingToSee(t *testing.T) {
	t.Parallel()
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	check(t, "home", s.do(t, "manager", "GET", "/", nil), 200, nil, []string{"Create your first mailing"})
	for path, want := range map[string]string{"/mailings": "Nobody has mailings yet.", "/recipients": "Nobody has recipients yet.",
		"/messages": "Nobody has messages yet."} {
		check(t, "manager "+path, s.do(t, "manager", "GET", path, nil), 200, []string{want}, []string{"You have no"})
		check(t, "user "+path, s.do(t, "other", "GET", path, nil), 200, []string{"You have no"}, nil)
	}
	check(t, "in Russian", s.do(t, "manager", "GET", "/mailings", nil, "Accept-Language", "ru"), 200, []string{"Рассылок пока нет ни у кого."}, nil)
}
