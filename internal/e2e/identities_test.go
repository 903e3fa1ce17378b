package e2e

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"simplesender"
	"simplesender/internal/app"
)

// browserDNS serves the TXT records the test publishes.
type browserDNS struct {
	mu   sync.Mutex
	recs map[string][]string
}

func (d *browserDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.recs[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestBrowserSendersAndDomains: a user adds a sender and a domain in the
// browser, verifies the domain once its record is published, sees the DKIM
// records and the health check, in English and in Russian; screenshots of
// the Senders, Domains and domain pages at 1280 and 390 px in both
// languages.
func TestBrowserSendersAndDomains(t *testing.T) {
	svc, b := startBrowsing(t)
	dns := &browserDNS{recs: map[string][]string{}}
	svc.srv.App.DNS = dns // before any request of the test
	ctx := context.Background()
	run := randomHex(4)
	u, _, err := svc.srv.App.CreateAdmin(ctx, app.System, "sender-"+run+"@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	if u, err = svc.srv.App.SetRole(ctx, app.System, u.ID, simplesender.RoleUser); err != nil {
		t.Fatal(err)
	}
	b.setAcceptLanguage("en-US,en;q=0.9")
	b.logIn(u.Email)

	b.open("/identities")
	b.fill(map[string]string{"#f-name": "Shop news", "#f-email": "news@shop-" + run + ".example", "#f-reply_to": "help@shop-" + run + ".example"})
	b.submit("add a sender", `main form[action="/identities"] button[type=submit]`, "/identities")
	if html := b.html("main"); !strings.Contains(html, "news@shop-"+run+".example") || !strings.Contains(html, "domain not verified") {
		t.Errorf("senders page after adding: %s", html)
	}
	b.screenshots("senders-en")

	domain := "shop-" + run + ".example"
	b.open("/domains")
	b.fill(map[string]string{"#f-domain": domain})
	b.click("add the domain", `main form[action="/domains"] button[type=submit]`)
	if !strings.Contains(b.mainText(), "_simplesender."+domain) {
		t.Fatalf("domain page lacks the verification record: %s", b.mainText())
	}
	path := strings.TrimPrefix(b.location(), b.base)
	value := b.text("main code.verify-value")
	if !strings.HasPrefix(value, "simplesender-verify=") {
		t.Fatalf("verification value: %q", value)
	}
	dns.mu.Lock()
	dns.recs["_simplesender."+domain] = []string{value}
	dns.mu.Unlock()
	b.submit("verify", `main form[action$="/verify"] button[type=submit]`, path)
	if txt := b.mainText(); !strings.Contains(txt, "ss1r._domainkey."+domain) || !strings.Contains(txt, "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("verified domain page lacks the DKIM records: %s", txt)
	}
	b.open(path + "?check=1")
	if txt := b.mainText(); !strings.Contains(txt, "Publish a DMARC record") {
		t.Errorf("health without DMARC: %s", txt)
	}
	b.screenshots("domain-en")
	b.open("/domains")
	b.screenshots("domains-en")

	b.setAcceptLanguage("ru-RU,ru;q=0.9")
	b.open(path + "?check=1")
	if txt := b.mainText(); !strings.Contains(txt, "Опубликуйте запись DMARC") || !strings.Contains(txt, "Ключи DKIM") {
		t.Errorf("domain page in Russian: %s", txt)
	}
	b.screenshots("domain-ru")
	b.open("/identities")
	if txt := b.mainText(); !strings.Contains(txt, "готов к рассылкам") {
		t.Errorf("senders page in Russian after verification: %s", txt)
	}
	b.screenshots("senders-ru")
	b.open("/domains")
	b.screenshots("domains-ru")
}
