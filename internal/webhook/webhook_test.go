package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSignatureVerifiesAndRefusesChanges(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	body := []byte(`{"events":[]}`)
	h := Sign("whsec_1", at, body)
	if !strings.HasPrefix(h, "t=1780000000,v1=") {
		t.Fatalf("header %q", h)
	}
	for _, c := range []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		ok                   bool
	}{
		{"the same body and secret pass", "whsec_1", h, body, at, true},
		{"another body fails", "whsec_1", h, []byte(`{"events":[1]}`), at, false},
		{"another secret fails", "whsec_2", h, body, at, false},
		{"an old signature fails", "whsec_1", h, body, at.Add(time.Hour), false},
		{"a second v1 (a rotated secret) passes", "whsec_1", "t=1780000000,v1=00," + strings.TrimPrefix(h, "t=1780000000,"), body, at, true},
		{"no time fails", "whsec_1", strings.TrimPrefix(h, "t=1780000000,"), body, at, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); (err == nil) != c.ok {
				t.Errorf("Verify = %v, want ok %v", err, c.ok)
			}
		})
	}
}

func TestInternalAddressesAreRefused(t *testing.T) {
	for _, c := range []struct {
		ip       string
		internal bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"169.254.169.254", true},
		{"100.64.0.1", true}, {"0.0.0.0", true}, {"::1", true}, {"fe80::1", true}, {"fd00::1", true}, {"::ffff:127.0.0.1", true},
		{"93.184.216.34", false}, {"2606:4700::1111", false},
	} {
		if got := Internal(netip.MustParseAddr(c.ip)); got != c.internal {
			t.Errorf("Internal(%s) = %v, want %v", c.ip, got, c.internal)
		}
	}
	ctx := context.Background()
	for raw, want := range map[string]error{
		"http://127.0.0.1:8080/x":         ErrPrivate,
		"https://169.254.169.254/latest":  ErrPrivate,
		"http://[::1]/":                   ErrPrivate,
		"ftp://example.com/":              ErrURL,
		"https://user:pw@93.184.216.34/":  ErrURL,
		"https://93.184.216.34/hook":      nil,
		"https://93.184.216.34/a\r\nX: y": ErrURL,
	} {
		if err := CheckURL(ctx, raw, false); !errors.Is(err, want) && !(err == nil && want == nil) {
			t.Errorf("CheckURL(%q) = %v, want %v", raw, err, want)
		}
	}
	if err := CheckURL(ctx, "http://127.0.0.1:8080/x", true); err != nil {
		t.Errorf("allowed private: %v", err)
	}
}

func TestClientRefusesInternalAddressesWhenConnecting(t *testing.T) {
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit = true
		w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	res := NewClient(false).Post(context.Background(), srv.URL, "s", []byte("{}"), time.Now(), "test")
	if res.OK() || hit || !strings.Contains(res.Error, "internal network") {
		t.Errorf("a loopback endpoint was reached or the error is unclear: %+v (hit %v)", res, hit)
	}
	res = NewClient(true).Post(context.Background(), srv.URL, "s", []byte("{}"), time.Now(), "test")
	if !res.OK() || res.Status != 200 || len(res.Response) != ResponseLimit {
		t.Errorf("allowed: %+v; want 200 and the answer cut at %d bytes", res.Status, ResponseLimit)
	}
}
