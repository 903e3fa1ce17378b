package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/nettest"
)

func testMessage(to string) *Message {
	return &Message{
		From:    Address{Name: "simpleSENDER", Email: "noreply@example.com"},
		To:      Address{Name: "Иван", Email: to},
		Subject: "Подтвердите адрес",
		Text:    "Ссылка: " + testLink + "\n.точка\n",
	}
}

// smtpURL returns a URL for the server at addr with optional credentials.
func smtpURL(scheme, user, pass, addr string) string {
	u := url.URL{Scheme: scheme, Host: addr}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

func TestSMTPSend(t *testing.T) {
	t.Parallel()
	serverTLS, roots := testCert(t)
	tests := []struct {
		name     string
		server   serverOptions
		mechs    []string
		scheme   string
		opts     SMTPOptions
		wantTLS  bool
		wantUser string
	}{
		{
			name:   "plain server without auth receives the message",
			scheme: "smtp",
		},
		{
			name:     "STARTTLS before AUTH PLAIN",
			server:   serverOptions{tls: serverTLS},
			mechs:    []string{"PLAIN"},
			scheme:   "smtp",
			opts:     SMTPOptions{RootCAs: roots},
			wantTLS:  true,
			wantUser: "sender@example.com",
		},
		{
			name:     "implicit TLS with smtps",
			server:   serverOptions{tls: serverTLS, implicitTLS: true},
			mechs:    []string{"PLAIN"},
			scheme:   "smtps",
			opts:     SMTPOptions{RootCAs: roots},
			wantTLS:  true,
			wantUser: "sender@example.com",
		},
		{
			name:     "AUTH LOGIN when the server offers no PLAIN",
			server:   serverOptions{tls: serverTLS},
			mechs:    []string{"LOGIN"},
			scheme:   "smtp",
			opts:     SMTPOptions{RootCAs: roots},
			wantTLS:  true,
			wantUser: "sender@example.com",
		},
		{
			name:     "AUTH over plain text to a loopback server",
			server:   serverOptions{plainAuth: true},
			mechs:    []string{"PLAIN"},
			scheme:   "smtp",
			wantUser: "sender@example.com",
		},
		{
			name:    "InsecureSkipVerify accepts a self-signed certificate",
			server:  serverOptions{tls: serverTLS},
			scheme:  "smtp",
			opts:    SMTPOptions{InsecureSkipVerify: true},
			wantTLS: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, &testServer{user: "sender@example.com", pass: "p@ss:wörd", mechs: tt.mechs}, tt.server)
			user, pass := "", ""
			if tt.wantUser != "" {
				user, pass = "sender@example.com", "p@ss:wörd"
			}
			tt.opts.CommandTimeout = 5 * time.Second
			s, err := NewSMTP(smtpURL(tt.scheme, user, pass, ts.Addr), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			m := testMessage("ivan@example.org")
			res, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Reply.Code != 250 || res.Reply.Enhanced != "2.0.0" {
				t.Errorf("reply = %+v, want 250 2.0.0", res.Reply)
			}
			got := ts.Received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			e := got[0]
			if e.From != "noreply@example.com" || len(e.To) != 1 || e.To[0] != "ivan@example.org" {
				t.Errorf("envelope from %q to %q", e.From, e.To)
			}
			if e.TLS != tt.wantTLS || e.User != tt.wantUser {
				t.Errorf("server saw TLS %v, user %q; want %v, %q", e.TLS, e.User, tt.wantTLS, tt.wantUser)
			}
			pm := parseMessage(t, []byte(e.Data))
			if id := pm.Header.Get("Message-ID"); id != res.MessageID {
				t.Errorf("received Message-ID %q, Send returned %q", id, res.MessageID)
			}
			if subject := decodeHeader(t, pm.Header.Get("Subject")); subject != m.Subject {
				t.Errorf("received Subject %q", subject)
			}
			if body := pm.Parts[0].Body; body != normalizeNewlines(m.Text) {
				t.Errorf("received body %q, want %q", body, m.Text)
			}
		})
	}
}

func TestSMTPDialFails(t *testing.T) {
	t.Parallel()
	serverTLS, _ := testCert(t)
	tests := []struct {
		name      string
		server    *serverOptions // nil: nothing listens
		mechs     []string
		url       func(addr string) string
		opts      SMTPOptions
		viaHost   bool // dial the server under the name mail.example.com
		wantStage string
		wantCode  int
		wantTemp  bool
		wantText  string // in the error message
	}{
		{
			name:      "nothing listening is a temporary connect failure",
			url:       func(addr string) string { return "smtp://" + addr },
			wantStage: StageConnect,
			wantTemp:  true,
		},
		{
			name:      "wrong password is a permanent auth failure",
			server:    &serverOptions{plainAuth: true},
			mechs:     []string{"PLAIN"},
			url:       func(addr string) string { return smtpURL("smtp", "sender@example.com", "wrong", addr) },
			wantStage: StageAuth,
			wantCode:  535,
		},
		{
			name:      "untrusted certificate is a temporary starttls failure",
			server:    &serverOptions{tls: serverTLS},
			url:       func(addr string) string { return "smtp://" + addr },
			wantStage: StageStartTLS,
			wantTemp:  true,
			wantText:  "certificate",
		},
		{
			name:      "untrusted certificate with smtps is a temporary connect failure",
			server:    &serverOptions{tls: serverTLS, implicitTLS: true},
			url:       func(addr string) string { return "smtps://" + addr },
			wantStage: StageConnect,
			wantTemp:  true,
			wantText:  "certificate",
		},
		{
			name:      "password is not sent unencrypted to a remote host",
			server:    &serverOptions{plainAuth: true},
			mechs:     []string{"PLAIN"},
			url:       func(string) string { return "smtp://sender:secret@mail.example.com:25" },
			viaHost:   true,
			wantStage: StageStartTLS,
			wantTemp:  true,
			wantText:  "unencrypted",
		},
		{
			name:      "credentials for a server without AUTH are refused",
			server:    &serverOptions{},
			url:       func(addr string) string { return smtpURL("smtp", "sender", "secret", addr) },
			wantStage: StageAuth,
			wantTemp:  true,
			wantText:  "does not offer AUTH",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := nettest.FreeAddr(t)
			var ts *testServer
			if tt.server != nil {
				ts = startServer(t, &testServer{user: "sender@example.com", pass: "right", mechs: tt.mechs}, *tt.server)
				addr = ts.Addr
			}
			tt.opts.CommandTimeout = 5 * time.Second
			s, err := NewSMTP(tt.url(addr), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.viaHost {
				s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
					return new(net.Dialer).DialContext(ctx, network, addr)
				}
			}
			_, err = s.Send(context.Background(), testMessage("ivan@example.org"))
			var se *SMTPError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want *SMTPError", err)
			}
			if se.Stage != tt.wantStage || se.Code != tt.wantCode || se.Temporary != tt.wantTemp || se.AfterData {
				t.Errorf("error %q: stage %q code %d temporary %v after data %v; want %q %d %v false",
					err, se.Stage, se.Code, se.Temporary, se.AfterData, tt.wantStage, tt.wantCode, tt.wantTemp)
			}
			if !strings.Contains(err.Error(), tt.wantText) || strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q should mention %q and never the password", err, tt.wantText)
			}
			if ts != nil {
				if n := len(ts.Received()); n != 0 {
					t.Errorf("server received %d messages", n)
				}
				if _, attempts := ts.counts(); tt.viaHost && attempts != 0 {
					t.Errorf("the password was offered %d times", attempts)
				}
			}
		})
	}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	valid := []struct {
		in      string
		want    SMTPURL
		display string
	}{
		{"smtp://mail.example.com", SMTPURL{Host: "mail.example.com", Port: "25"}, "smtp://mail.example.com:25"},
		{" smtp://user:pass@mail.example.com:587 ", SMTPURL{Host: "mail.example.com", Port: "587", Username: "user", Password: "pass"},
			"smtp://user:xxxxx@mail.example.com:587"},
		{"smtps://me%40example.com:p%40ss%3Aw@mail.example.com", SMTPURL{Host: "mail.example.com", Port: "465", ImplicitTLS: true, Username: "me@example.com", Password: "p@ss:w"},
			"smtps://me%40example.com:xxxxx@mail.example.com:465"},
		{"SMTP://[::1]:2525/", SMTPURL{Host: "::1", Port: "2525"}, "smtp://[::1]:2525"},
		{"smtp://relay.example.net?tls=none", SMTPURL{Host: "relay.example.net", Port: "25", TLS: "none"}, "smtp://relay.example.net:25?tls=none"},
		{"smtp://u:p@localhost:2525?tls=none", SMTPURL{Host: "localhost", Port: "2525", TLS: "none", Username: "u", Password: "p"},
			"smtp://u:xxxxx@localhost:2525?tls=none"},
		{"smtp://127.0.0.1?tls=starttls", SMTPURL{Host: "127.0.0.1", Port: "25", TLS: "starttls"}, "smtp://127.0.0.1:25?tls=starttls"},
	}
	for _, tt := range valid {
		t.Run("accepts "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSMTPURL(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseSMTPURL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.display {
				t.Errorf("String() = %q, want %q", got.String(), tt.display)
			}
		})
	}
	invalid := []struct{ in, wantText string }{
		{"", "empty"},
		{"http://mail.example.com", "scheme"},
		{"mail.example.com", "scheme"},
		{"smtp:mail.example.com:25", "two slashes"},
		{"smtp://", "host"},
		{"smtp://bad_host:25", "invalid host"},
		{"smtp://::", "invalid host"},
		{"smtp://mail.example.com:0", "port"},
		{"smtp://mail.example.com:70000", "port"},
		{"smtp://mail.example.com:smtp", "port"},
		{"smtp://mail.example.com/path", "path"},
		{"smtp://mail.example.com?conns=1", "query"},
		{"smtp://mail.example.com?tls=1", "tls: want none"},
		{"smtp://mail.example.com?tls=none&tls=none", "tls: want none"},
		{"smtps://mail.example.com?tls=none", "smtps:// is always TLS"},
		{"smtp://user:secret@mail.example.com?tls=none", "unencrypted"},
		{"smtp://:secret@mail.example.com", "user name"},
		{"smtp://user@mail.example.com", "no password"},
		{"smtp://user:secret%zz@mail.example.com", "valid URL"},
	}
	for _, tt := range invalid {
		t.Run("rejects "+tt.in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSMTPURL(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("ParseSMTPURL(%q) error = %v, want one mentioning %q", tt.in, err, tt.wantText)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
	if _, err := NewSMTP("smtp://mail.example.com", SMTPOptions{HeloName: "bad name"}); err == nil {
		t.Error("NewSMTP accepted a HELO name with a space")
	}
}

func TestSMTPErrorKeepsReplyAsData(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("я", 1000) // 2000 bytes
	tests := []struct {
		name, text, wantText, wantEnh string
	}{
		{"enhanced code is parsed", "5.1.1 <a@b.c>: Recipient address rejected", "5.1.1 <a@b.c>: Recipient address rejected", "5.1.1"},
		{"text without enhanced code", "Mailbox unavailable", "Mailbox unavailable", ""},
		{"a number that is no enhanced code", "5.1 nope", "5.1 nope", ""},
		{"control characters are neutralised", "4.0.0 bad\x00\x1b[31mred\nsecond line", "4.0.0 bad\uFFFD\uFFFD[31mred\nsecond line", "4.0.0"},
		{"invalid UTF-8 is replaced", "bad \xff\xfe", "bad \uFFFD\uFFFD", ""},
		{"long text is capped on a rune boundary", long, strings.Repeat("я", maxReplyLen/2), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := replyError(StageRcpt, newReply(550, tt.text), false)
			if e.Message != tt.wantText || e.Enhanced != tt.wantEnh {
				t.Errorf("Message %q Enhanced %q; want %q %q", e.Message, e.Enhanced, tt.wantText, tt.wantEnh)
			}
			if len(e.Message) > maxReplyLen {
				t.Errorf("Message of %d bytes", len(e.Message))
			}
			if e.Temporary || e.AfterData {
				t.Errorf("550 classified temporary %v after data %v", e.Temporary, e.AfterData)
			}
		})
	}
}

func TestNewSMTPOptions(t *testing.T) {
	t.Parallel()
	s, err := NewSMTP("smtps://mail.example.com", SMTPOptions{InsecureSkipVerify: true, HeloName: "me.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.tls.InsecureSkipVerify || s.tls.ServerName != "mail.example.com" || s.tls.MinVersion != tls.VersionTLS12 || s.helo != "me.example.com" {
		t.Errorf("options not applied: %+v helo %q", s.tls, s.helo)
	}
	if s.dialTimeout != DefaultDialTimeout || s.cmdTimeout != DefaultCommandTimeout || s.dataTimeout != DefaultDataTimeout {
		t.Errorf("default timeouts not applied")
	}
	if _, err := NewSMTP("smtp://mail.example.com", SMTPOptions{}, SMTPOptions{}); err == nil {
		t.Error("NewSMTP accepted two SMTPOptions")
	}
}

// TestSMTPRequiresSTARTTLS: smtp:// to a host on the network sends nothing
// in clear text when the server does not offer STARTTLS, unless the URL
// says ?tls=none; on this machine mail may go unencrypted.
func TestSMTPRequiresSTARTTLS(t *testing.T) {
	t.Parallel()
	serverTLS, roots := testCert(t)
	tests := []struct {
		name     string
		url      string // %s: the test server's port
		remote   bool   // dial the server under the name mail.example.com
		starttls bool   // the server offers STARTTLS
		wantMode string
		wantTLS  bool
		wantErr  string // "": the message is sent
	}{
		{name: "a remote server without STARTTLS is refused", url: "smtp://mail.example.com:%s", remote: true,
			wantMode: simplesender.SMTPStartTLS, wantErr: "does not offer STARTTLS"},
		{name: "a remote server with STARTTLS gets TLS", url: "smtp://mail.example.com:%s", remote: true, starttls: true,
			wantMode: simplesender.SMTPStartTLS, wantTLS: true},
		{name: "tls=none sends to a remote server in clear text", url: "smtp://mail.example.com:%s?tls=none", remote: true,
			wantMode: simplesender.SMTPNoTLS},
		{name: "tls=none does not start TLS even when offered", url: "smtp://mail.example.com:%s?tls=none", remote: true, starttls: true,
			wantMode: simplesender.SMTPNoTLS},
		{name: "a loopback server without STARTTLS gets the mail in clear text", url: "smtp://127.0.0.1:%s",
			wantMode: simplesender.SMTPStartTLSOptional},
		{name: "a loopback server with STARTTLS gets TLS", url: "smtp://localhost:%s", starttls: true,
			wantMode: simplesender.SMTPStartTLSOptional, wantTLS: true},
		{name: "tls=starttls requires it on loopback too", url: "smtp://127.0.0.1:%s?tls=starttls",
			wantMode: simplesender.SMTPStartTLS, wantErr: "does not offer STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var o serverOptions
			if tt.starttls {
				o.tls = serverTLS
			}
			ts := startServer(t, &testServer{}, o)
			_, port, _ := net.SplitHostPort(ts.Addr)
			s, err := NewSMTP(fmt.Sprintf(tt.url, port), SMTPOptions{RootCAs: roots, CommandTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.URL().TLSMode(); got != tt.wantMode {
				t.Errorf("TLSMode() = %q, want %q", got, tt.wantMode)
			}
			s.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return new(net.Dialer).DialContext(ctx, network, ts.Addr)
			}
			_, err = s.Send(t.Context(), testMessage("ivan@example.org"))
			got := ts.Received()
			if tt.wantErr != "" {
				var se *SMTPError
				if !errors.As(err, &se) || se.Stage != StageStartTLS || !se.Temporary || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Send error = %v; want a temporary error at STARTTLS saying %q", err, tt.wantErr)
				}
				if len(got) != 0 {
					t.Errorf("the server got %d messages in clear text", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(got) != 1 || got[0].TLS != tt.wantTLS {
				t.Errorf("server got %+v; want one message, over TLS %v", got, tt.wantTLS)
			}
		})
	}
}
