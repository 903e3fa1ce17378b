package api

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

type testDNS struct {
	mu   sync.Mutex
	recs map[string][]string
}

func (d *testDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.recs[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestIdentitiesAndDomainsThroughTheAPI: a user adds a sender and a domain,
// verifies it with the record the answer gave and gets both DKIM records;
// a mailing keeps the identity it chose across a change of its name; another
// user gets 404 for both, a manager reads everyone's and changes nothing,
// and only an admin sets a rule for everyone.
func TestIdentitiesAndDomainsThroughTheAPI(t *testing.T) {
	t.Parallel()
	dns := &testDNS{recs: map[string][]string{}}
	f := newFixture(t, storetest.NewURL(t, "sqlite"), apptest.Options{Deps: func(d *app.Deps) { d.DNS = dns }})
	owner, other := f.tokens["active"], f.token(t, f.user(t, simplesender.RoleUser, simplesender.StatusActive))

	res := f.do(t, req{method: "POST", path: "/identities", bearer: owner,
		body: `{"name":"Shop","email":"news@shop.example","reply_to":"help@shop.example"}`}).want(t, 201)
	var id identityJSON
	res.decode(t, &id)
	if !id.Default || id.Email != "news@shop.example" {
		t.Fatalf("identity: %+v", id)
	}
	f.do(t, req{method: "POST", path: "/identities", bearer: owner, body: `{"name":"Bad","email":"news@shop.example\r\nBcc: x@y.z"}`}).
		want(t, 422).has(t, `"email"`)
	f.do(t, req{method: "GET", path: "/identities/" + itoa(id.ID), bearer: other}).want(t, 404)
	f.do(t, req{method: "DELETE", path: "/identities/" + itoa(id.ID), bearer: other}).want(t, 404)
	f.do(t, req{method: "GET", path: "/identities", bearer: f.tokens["manager"]}).want(t, 200).has(t, "news@shop.example")
	f.do(t, req{method: "GET", path: "/identities", bearer: other}).want(t, 200).hasNot(t, "news@shop.example")
	f.do(t, req{method: "POST", path: "/identities", bearer: f.tokens["manager"], body: `{"email":"m@shop.example"}`}).want(t, 403)

	var d domainJSON
	f.do(t, req{method: "POST", path: "/domains", bearer: owner, body: `{"domain":"Shop.Example"}`}).want(t, 201).decode(t, &d)
	if d.Domain != "shop.example" || d.Verified || !strings.HasPrefix(d.Verification.Value, "simplesender-verify=") {
		t.Fatalf("domain: %+v", d)
	}
	f.do(t, req{method: "POST", path: "/domains/" + itoa(d.ID) + "/verify", bearer: owner}).want(t, 409)
	f.do(t, req{method: "GET", path: "/domains/" + itoa(d.ID), bearer: other}).want(t, 404)
	f.do(t, req{method: "POST", path: "/domains/" + itoa(d.ID) + "/verify", bearer: other}).want(t, 404)
	dns.mu.Lock()
	dns.recs[d.Verification.Name] = []string{d.Verification.Value}
	dns.mu.Unlock()
	f.do(t, req{method: "POST", path: "/domains/" + itoa(d.ID) + "/verify", bearer: owner}).want(t, 200).decode(t, &d)
	if !d.Verified || len(d.Keys) != 2 || !strings.HasPrefix(d.Keys[1].Record, "v=DKIM1; k=ed25519; p=") ||
		d.Keys[0].Name != "ss1r._domainkey.shop.example" {
		t.Fatalf("verified domain: %+v", d)
	}
	var h healthJSON
	f.do(t, req{method: "GET", path: "/domains/" + itoa(d.ID) + "/health", bearer: owner}).want(t, 200).decode(t, &h)
	if h.DKIM || h.DMARC != "" || !strings.Contains(strings.Join(h.AdviceText, " "), "DMARC") {
		t.Errorf("health: %+v", h)
	}

	f.do(t, req{method: "POST", path: "/domain-rules", bearer: f.tokens["manager"], body: `{"domain":"x.example","rule":"allow"}`}).want(t, 403)
	f.do(t, req{method: "POST", path: "/domain-rules", bearer: owner, body: `{"domain":"x.example","rule":"allow"}`}).want(t, 403)
	f.do(t, req{method: "POST", path: "/domain-rules", bearer: f.tokens["admin"], body: `{"domain":"x.example","rule":"forbid"}`}).
		want(t, 200).has(t, `"rule":"forbid"`)

	// A mailing keeps its identity through a change that does not name it.
	ctx := context.Background()
	ac := &app.Actor{User: f.users["active"]}
	m := f.env.Mailing(t, ac, "With sender", "anna@example.org")
	f.do(t, req{method: "PATCH", path: "/mailings/" + itoa(m.ID), bearer: owner, body: `{"identity_id":` + itoa(id.ID) + `}`}).want(t, 200)
	var got map[string]any
	f.do(t, req{method: "PATCH", path: "/mailings/" + itoa(m.ID), bearer: owner, body: `{"name":"Renamed"}`}).want(t, 200).decode(t, &got)
	if v, _ := got["identity_id"].(json.Number); v == "" && got["identity_id"] != float64(id.ID) {
		t.Errorf("identity_id after a rename: %v", got["identity_id"])
	}
	if i, err := f.env.DB.Store().MailingIdentity(ctx, m.ID); err != nil || i == nil || i.ID != id.ID {
		t.Errorf("mailing identity: %+v %v", i, err)
	}
	otherID := f.do(t, req{method: "POST", path: "/identities", bearer: other, body: `{"email":"o@other.example"}`}).want(t, 201)
	var oi identityJSON
	otherID.decode(t, &oi)
	f.do(t, req{method: "PATCH", path: "/mailings/" + itoa(m.ID), bearer: owner, body: `{"identity_id":` + itoa(oi.ID) + `}`}).
		want(t, 422).has(t, `"identity_id"`)
}
