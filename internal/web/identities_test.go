package web_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"testing"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

type pageDNS struct {
	mu   sync.Mutex
	recs map[string][]string
}

func (d *pageDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.recs[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestIdentityAndDomainPages: a user adds a sender (a bad address is
// refused on the form, with what was typed kept and escaped), adds a
// domain, is told when its record is missing, verifies it and sees the DKIM
// records to publish and the health check's advice; another user gets 404
// on the domain, a manager reads it without buttons, and only an admin gets
// the form that allows domains for everyone.
func TestIdentityAndDomainPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		dns := &pageDNS{recs: map[string][]string{}}
		s := newSiteWith(t, dbURL, web.Config{}, apptest.Options{Deps: func(d *app.Deps) { d.DNS = dns }})
		r := s.do(t, "active", "POST", "/identities", url.Values{"name": {`<b>Shop</b>`}, "email": {"not an address"}})
		check(t, "bad identity", r, 422, []string{"&lt;b&gt;Shop&lt;/b&gt;", "aria-invalid"}, []string{"<b>Shop</b>"})
		r = s.follow(t, "active", s.do(t, "active", "POST", "/identities", url.Values{"name": {"Shop"}, "email": {"news@shop.example"}}))
		check(t, "identities", r, 200, []string{"news@shop.example", "Default", "domain not verified"}, nil)
		check(t, "mailing form", s.do(t, "active", "GET", "/mailings/new", nil), 200, []string{`name="identity_id"`, "Shop &lt;news@shop.example&gt;"}, nil)

		r = s.do(t, "active", "POST", "/domains", url.Values{"domain": {"shop.example"}})
		loc := r.header.Get("Location")
		r = s.follow(t, "active", r)
		check(t, "new domain", r, 200, []string{"_simplesender.shop.example", "simplesender-verify=", "not verified"}, nil)
		r = s.do(t, "active", "POST", loc+"/verify", url.Values{})
		check(t, "verify without record", r, 409, []string{"The verification record was not found in DNS"}, []string{"ss1r._domainkey"})

		ac := s.actor(t, "active")
		list, err := s.env.App.ListDomains(context.Background(), ac)
		if err != nil || len(list) != 1 {
			t.Fatal(list, err)
		}
		name, value := s.env.App.DomainVerification(list[0])
		dns.mu.Lock()
		dns.recs[name] = []string{value}
		dns.mu.Unlock()
		r = s.follow(t, "active", s.do(t, "active", "POST", loc+"/verify", url.Values{}))
		check(t, "verified", r, 200, []string{"ss1r._domainkey.shop.example", "ss1e._domainkey.shop.example", "v=DKIM1; k=ed25519; p=",
			"v=DKIM1; k=rsa; p=", "Rotate keys"}, nil)
		check(t, "health", s.do(t, "active", "GET", loc+"?check=1", nil), 200,
			[]string{"not found", "Publish a DMARC record", "5,000 messages a day"}, nil)
		if err := s.env.App.SetLanguage(context.Background(), ac, "ru"); err != nil {
			t.Fatal(err)
		}
		check(t, "health ru", s.do(t, "active", "GET", loc+"?check=1", nil), 200,
			[]string{"Опубликуйте запись DMARC", "не найдена", "5000 писем в день"}, nil)
		check(t, "identities after verification", s.do(t, "active", "GET", "/identities", nil), 200, []string{"готов к рассылкам"}, nil)

		check(t, "other user", s.do(t, "other", "GET", loc, nil), 404, nil, []string{"shop.example"})
		check(t, "other user verifies", s.do(t, "other", "POST", loc+"/rotate", url.Values{}), 404, nil, nil)
		check(t, "manager", s.do(t, "manager", "GET", loc, nil), 200, []string{"ss1r._domainkey.shop.example", "active@example.com"},
			[]string{"Rotate keys", "Delete domain"})
		check(t, "manager rotates", s.do(t, "manager", "POST", loc+"/rotate", url.Values{}), 403, nil, nil)
		check(t, "manager's list", s.do(t, "manager", "GET", "/domains", nil), 200, []string{"Domains for everyone"}, []string{`name="rule_domain"`})
		check(t, "user's list", s.do(t, "active", "GET", "/domains", nil), 200, []string{"shop.example"}, []string{"Domains for everyone"})
		check(t, "user sets a rule", s.do(t, "active", "POST", "/domains/rules", url.Values{"rule_domain": {"x.example"}, "rule": {"allow"}}), 403, nil, nil)
		r = s.follow(t, "admin", s.do(t, "admin", "POST", "/domains/rules", url.Values{"rule_domain": {"x.example"}, "rule": {"forbid"}}))
		check(t, "admin's rule", r, 200, []string{"x.example", "forbidden", `name="rule_domain"`}, nil)
	})
}
