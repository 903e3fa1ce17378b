package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// redirectSeeds are targets that once got past a check, or could: the
// first passed the old check and was then cleaned into "/\evil.example".
var redirectSeeds = []string{
	`/x/../\evil.example`, `/%5cevil`, `/%5Cevil`, "/\t/evil", "/\n/evil", "/\r\n/evil", `//evil`, `/.//evil`,
	`https:evil`, `https://evil.example/`, `/\evil`, `\\evil`, `/x/..//evil`, `/%2F%2Fevil`, `/%2f/evil`,
	`/%09/evil`, `/..\evil`, ` //evil`, "/\x00/evil", `javascript:alert(1)`, `/x/%2e%2e//evil`, `///evil`,
	`/mailings/1?x=//evil`, `/mailings/1`, `/`, ``, `/users?q=Иван Петров`, `/a b/`, "/\u3000/evil",
	`/ok/..%5c..%5cevil`, `.//evil`, `/./evil`, `/../evil`, `\/evil`, `/\/evil`, `//%09/evil`,
}

// FuzzRedirectTarget sends arbitrary next= targets to the language switch
// (anonymous) and to the login page of a logged-in user, and checks the
// property every redirect must have: the Location is a path of our own
// origin as a browser resolves it.
func FuzzRedirectTarget(f *testing.F) {
	for _, s := range redirectSeeds {
		f.Add(s)
	}
	s := newSiteOpts(f, storetest.NewURL(f, "sqlite"), web.Config{}, apptest.Options{})
	f.Fuzz(func(t *testing.T, target string) {
		r := s.do(t, "", "POST", "/lang", url.Values{"lang": {"en"}, "next": {target}})
		loc := location(t, "POST /lang", r)
		checkSameOrigin(t, "POST /lang next="+fmt.Sprintf("%q", target), loc)
		r = s.do(t, "active", "GET", "/login?next="+url.QueryEscape(target), nil)
		loc2 := location(t, "GET /login", r)
		checkSameOrigin(t, "GET /login next="+fmt.Sprintf("%q", target), loc2)
		if loc != loc2 {
			t.Errorf("next=%q: /lang sends %q, /login %q: two checks", target, loc, loc2)
		}
		// What we send is what we checked: sending it again changes nothing.
		if again := location(t, "POST /lang", s.do(t, "", "POST", "/lang", url.Values{"lang": {"en"}, "next": {loc}})); again != loc {
			t.Errorf("next=%q: Location %q becomes %q when sent again", target, loc, again)
		}
	})
}

// TestRedirectsStayOnSite drives every redirect that takes a target from the
// request (login form and page, language switch, mailing actions, the
// recipient and message forms' return) with each seed.
func TestRedirectsStayOnSite(t *testing.T) {
	s := newSite(t, storetest.NewURL(t, "sqlite"))
	o := s.seed(t, "active", "Ivan")
	g := o.path("/mailings/{G}")
	for _, target := range redirectSeeds {
		for _, c := range []struct {
			who, method, path string
			form              url.Values
		}{
			{"", "POST", "/lang", url.Values{"lang": {"en"}, "next": {target}}},
			{"active", "GET", "/login?next=" + url.QueryEscape(target), nil},
			{"manager", "POST", g + "/disable", url.Values{"next": {target}}},
			{"manager", "POST", g + "/enable", url.Values{"next": {target}}},
			{"active", "POST", "/recipients", url.Values{"email": {fmt.Sprintf("ret%d@example.org", s.next())}, "return": {target}}},
			{"active", "POST", "/messages", url.Values{"subject": {"Hi"}, "body_text": {"Hello"}, "return": {target}}},
		} {
			r := s.do(t, c.who, c.method, c.path, c.form)
			if r.status != http.StatusSeeOther {
				t.Fatalf("%s %s target %q: status %d, want 303", c.method, c.path, target, r.status)
			}
			checkSameOrigin(t, c.method+" "+c.path+" target "+fmt.Sprintf("%q", target), r.header.Get("Location"))
		}
	}
	// The login itself, with the seed that the old check let through.
	r := s.do(t, "", "POST", "/login", url.Values{"email": {"other@example.com"}, "password": {apptest.Password}, "next": {redirectSeeds[0]}})
	if loc := location(t, "POST /login", r); loc != "/" {
		t.Errorf("POST /login next=%q: Location %q, want /", redirectSeeds[0], loc)
	}
	// A target of our own still works, query included, cleaned.
	r = s.do(t, "", "POST", "/lang", url.Values{"lang": {"en"}, "next": {"/mailings/../users?q=Иван Петров&page=2"}})
	if loc := location(t, "POST /lang", r); loc != "/users?q=%D0%98%D0%B2%D0%B0%D0%BD%20%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&page=2" {
		t.Errorf("a local target with a query became %q", loc)
	}
}

// location returns the Location of a 303 answer.
func location(t *testing.T, what string, r resp) string {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("%s: status %d, want 303", what, r.status)
	}
	return r.header.Get("Location")
}

// checkSameOrigin fails unless loc, as a browser reads a Location, leads to a
// path of the origin that sent it.
func checkSameOrigin(t *testing.T, what, loc string) {
	t.Helper()
	base, _ := url.Parse("https://app.example/some/page?x=1")
	for i := 0; i < len(loc); i++ {
		// Browsers drop tabs and line breaks, read "\" as "/", and trim
		// spaces and controls: none of them may be in what we send.
		if c := loc[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			t.Errorf("%s: Location %q has the byte %#x, which a browser rewrites", what, loc, c)
			return
		}
	}
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
		t.Errorf("%s: Location %q is not an absolute path of this site", what, loc)
		return
	}
	ref, err := url.Parse(loc)
	if err != nil {
		t.Errorf("%s: Location %q does not parse: %v", what, loc, err)
		return
	}
	if got := base.ResolveReference(ref); got.Scheme != "https" || got.Host != "app.example" {
		t.Errorf("%s: Location %q leads to %s", what, loc, got)
	}
	p, _, _ := strings.Cut(loc, "?")
	if dec, err := url.PathUnescape(p); err != nil || strings.Contains(dec, `\`) || strings.HasPrefix(dec, "//") {
		t.Errorf("%s: Location %q decodes to %q: a slash or backslash in disguise", what, loc, dec)
	}
}

// next returns a number not used before in this site.
func (s *site) next() int {
	s.seq++
	return s.seq
}
