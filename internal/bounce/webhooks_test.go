package bounce

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 3, 10, 20, 0, 0, time.UTC)

// The webhook endpoint checks, then reads (Verify*, then Parse*), as these do.

func Mailgun(body, key []byte, now time.Time) (Event, error) {
	if err := VerifyMailgun(body, key, now); err != nil {
		return Event{}, err
	}
	return ParseMailgun(body)
}

func SendGrid(body []byte, sig, ts string, key *ecdsa.PublicKey, now time.Time) ([]Event, error) {
	if err := VerifySendGrid(body, sig, ts, key, now); err != nil {
		return nil, err
	}
	return ParseSendGrid(body)
}

func Postmark(body []byte, user, password, wantUser, wantPassword string) (Event, error) {
	if err := VerifyPostmark(user, password, wantUser, wantPassword); err != nil {
		return Event{}, err
	}
	return ParsePostmark(body)
}

func Generic(body []byte, sig string, secret []byte, now time.Time) ([]Event, error) {
	if err := VerifyGeneric(body, sig, secret, now); err != nil {
		return nil, err
	}
	return ParseGeneric(body)
}

func TestMailgunWebhook(t *testing.T) {
	key := []byte("key-mailgun-signing")
	body := func(ts, token, sig, event, severity string) []byte {
		return []byte(fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q},
		"event-data":{"id":"ev-1","event":%q,"severity":%q,"reason":"bounce","recipient":"Ann@Example.net",
		"timestamp":1796292000.5,"delivery-status":{"code":550,"enhanced-code":"5.1.1","message":"No such user"},
		"message":{"headers":{"message-id":"20261203.abc@mail.example.org"}},"user-variables":{"ss":"tok123"}}}`,
			ts, token, sig, event, severity))
	}
	ts := fmt.Sprint(now.Unix())
	good := hmacHex(key, ts, "tok")
	ev, err := Mailgun(body(ts, "tok", good, "failed", "permanent"), key, now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != Hard || ev.Recipient != "ann@example.net" || ev.Status != "5.1.1" ||
		ev.MessageID != "<20261203.abc@mail.example.org>" || ev.Metadata["ss"] != "tok123" || ev.ProviderID != "ev-1" {
		t.Errorf("hard bounce read as %+v", ev)
	}
	if ev, _ := Mailgun(body(ts, "tok", good, "failed", "temporary"), key, now); ev.Kind != Soft {
		t.Errorf("temporary failure read as %s, want soft", ev.Kind)
	}
	if ev, _ := Mailgun(body(ts, "tok", good, "complained", ""), key, now); ev.Kind != Complaint {
		t.Errorf("complaint read as %s", ev.Kind)
	}
	if _, err := Mailgun(body(ts, "tok", good, "failed", "permanent"), []byte("other key"), now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: err %v, want ErrSignature", err)
	}
	if _, err := Mailgun(body(ts, "tok2", good, "failed", "permanent"), key, now); !errors.Is(err, ErrSignature) {
		t.Errorf("token changed: err %v, want ErrSignature", err)
	}
	old := fmt.Sprint(now.Add(-time.Hour).Unix())
	if _, err := Mailgun(body(old, "tok", hmacHex(key, old, "tok"), "failed", "permanent"), key, now); !errors.Is(err, ErrStale) {
		t.Errorf("an hour old: err %v, want ErrStale", err)
	}
}

func TestSendGridWebhook(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pub, err := SendGridKey(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[
	{"email":"bob@example.com","timestamp":1796292000,"smtp-id":"<m1@mail.example.org>","event":"bounce","type":"bounce",
	 "status":"5.1.1","reason":"550 5.1.1 The email account that you tried to reach does not exist","sg_event_id":"e1","ss":"tok1"},
	{"email":"carol@example.com","timestamp":1796292001,"smtp-id":"<m2@mail.example.org>","event":"bounce","type":"blocked",
	 "status":"5.7.1","reason":"550 5.7.1 blocked by policy","sg_event_id":"e2"},
	{"email":"dave@example.com","timestamp":1796292002,"smtp-id":"<m3@mail.example.org>","event":"spamreport","sg_event_id":"e3"},
	{"email":"erin@example.com","timestamp":1796292003,"event":"deferred","response":"451 4.2.2 mailbox full","sg_event_id":"e4"},
	{"email":"frank@example.com","timestamp":1796292004,"event":"open","sg_event_id":"e5"}]`)
	ts := fmt.Sprint(now.Unix())
	h := sha256.Sum256(append([]byte(ts), body...))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, h[:])
	evs, err := SendGrid(body, base64.StdEncoding.EncodeToString(sig), ts, pub, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Kind{Hard, Policy, Complaint, Delayed, Unknown}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, ev := range evs {
		if ev.Kind != want[i] {
			t.Errorf("event %d (%s) read as %s, want %s", i, ev.Recipient, ev.Kind, want[i])
		}
	}
	if evs[0].MessageID != "<m1@mail.example.org>" || evs[0].Metadata["ss"] != "tok1" || evs[3].Status != "4.2.2" {
		t.Errorf("first event %+v, fourth %+v", evs[0], evs[3])
	}
	tampered := []byte(strings.Replace(string(body), "bob@", "eve@", 1))
	if _, err := SendGrid(tampered, base64.StdEncoding.EncodeToString(sig), ts, pub, now); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered body: err %v, want ErrSignature", err)
	}
	if _, err := SendGrid(body, base64.StdEncoding.EncodeToString(sig), ts, pub, now.Add(time.Hour)); !errors.Is(err, ErrStale) {
		t.Errorf("an hour later: err %v, want ErrStale", err)
	}
}

func TestPostmarkWebhook(t *testing.T) {
	bounce := []byte(`{"RecordType":"Bounce","ID":4323372036854775807,"Type":"HardBounce","TypeCode":1,
	"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Email":"gina@example.com","BouncedAt":"2026-12-03T10:16:00Z",
	"Details":"smtp;550 5.1.1 The email account that you tried to reach does not exist","Metadata":{"ss":"tok9"}}`)
	ev, err := Postmark(bounce, "hook", "s3cret", "hook", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != Hard || ev.Recipient != "gina@example.com" || ev.Status != "5.1.1" || ev.Metadata["ss"] != "tok9" ||
		!ev.At.Equal(time.Date(2026, 12, 3, 10, 16, 0, 0, time.UTC)) {
		t.Errorf("hard bounce read as %+v", ev)
	}
	soft := []byte(strings.Replace(string(bounce), `"HardBounce"`, `"SoftBounce"`, 1))
	if ev, _ := Postmark(soft, "hook", "s3cret", "hook", "s3cret"); ev.Kind != Soft {
		t.Errorf("soft bounce read as %s", ev.Kind)
	}
	spam := []byte(`{"RecordType":"SpamComplaint","ID":42,"Type":"SpamComplaint","Email":"hank@example.com","BouncedAt":"2026-12-03T10:17:00Z"}`)
	if ev, _ := Postmark(spam, "hook", "s3cret", "hook", "s3cret"); ev.Kind != Complaint || ev.Recipient != "hank@example.com" {
		t.Errorf("complaint read as %+v", ev)
	}
	if _, err := Postmark(bounce, "hook", "guess", "hook", "s3cret"); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong password: err %v, want ErrSignature", err)
	}
	if _, err := Postmark(bounce, "", "", "", ""); !errors.Is(err, ErrSignature) {
		t.Errorf("nothing configured: err %v, want ErrSignature", err)
	}
}

func TestGenericWebhook(t *testing.T) {
	secret := []byte("generic-secret")
	body := []byte(`{"events":[{"type":"bounce","recipient":"ivy@example.net","message_id":"<m9@mail.example.org>",
	"status":"5.2.2","diagnostic":"552 mailbox full","id":"g1"},
	{"type":"bounce","bounce":"hard","recipient":"jack@example.net","diagnostic":"gone"},
	{"type":"complaint","recipient":"kate@example.net"}]}`)
	evs, err := Generic(body, SignGeneric(body, secret, now), secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Kind != Soft || evs[0].MessageID != "<m9@mail.example.org>" || evs[1].Kind != Hard || evs[2].Kind != Complaint {
		t.Errorf("events %+v", evs)
	}
	rotating := "t=" + fmt.Sprint(now.Unix()) + ",v1=00ff,v1=" + hmacHex(secret, fmt.Sprint(now.Unix()), ".", string(body))
	if _, err := Generic(body, rotating, secret, now); err != nil {
		t.Errorf("one good signature among two: %v", err)
	}
	if _, err := Generic(body, SignGeneric(body, []byte("other"), now), secret, now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong secret: err %v, want ErrSignature", err)
	}
	if _, err := Generic(body, SignGeneric(body, secret, now.Add(-time.Hour)), secret, now); !errors.Is(err, ErrStale) {
		t.Errorf("an hour old: err %v, want ErrStale", err)
	}
	bad := []byte(`{"events":[{"type":"opened","recipient":"a@b.c"}]}`)
	if _, err := Generic(bad, SignGeneric(bad, secret, now), secret, now); err == nil || errors.Is(err, ErrSignature) {
		t.Errorf("unknown type: err %v, want a plain error", err)
	}
}

// snsSigner is a certificate and key standing in for Amazon's.
type snsSigner struct {
	key     *rsa.PrivateKey
	pemCert []byte
}

func newSNSSigner(t *testing.T) *snsSigner {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &snsSigner{key: key, pemCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (s *snsSigner) sign(t *testing.T, m *SNSMessage, version string) []byte {
	m.SignatureVersion = version
	text := m.signed()
	var sig []byte
	var err error
	if version == "1" {
		h := sha1.Sum([]byte(text))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, h[:])
	} else {
		h := sha256.Sum256([]byte(text))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, _ := json.Marshal(m)
	return b
}

const certURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem"

func TestSESThroughSNS(t *testing.T) {
	signer := newSNSSigner(t)
	fetched := 0
	sns := &SNS{Topics: []string{"arn:aws:sns:eu-west-1:123456789012:ses-feedback"},
		Fetch: func(_ context.Context, u string) ([]byte, error) {
			fetched++
			if u != certURL {
				return nil, fmt.Errorf("fetched %s", u)
			}
			return signer.pemCert, nil
		}}
	bounce := `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
	"bouncedRecipients":[{"emailAddress":"leo@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
	{"emailAddress":"mia@example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
	"timestamp":"2026-12-03T10:16:00.000Z","feedbackId":"fb-1"},
	"mail":{"timestamp":"2026-12-03T10:15:00.000Z","source":"bounces+tok5@bounce.example.org","messageId":"ses-1",
	"headers":[{"name":"Message-ID","value":"<m5@mail.example.org>"}],"commonHeaders":{"messageId":"<m5@mail.example.org>"}}}`
	m := &SNSMessage{Type: "Notification", MessageID: "n-1", TopicArn: "arn:aws:sns:eu-west-1:123456789012:ses-feedback",
		Message: bounce, Timestamp: "2026-12-03T10:16:01.000Z", SigningCertURL: certURL}
	for _, v := range []string{"1", "2"} {
		got, err := sns.Verify(context.Background(), signer.sign(t, m, v))
		if err != nil {
			t.Fatalf("signature version %s: %v", v, err)
		}
		evs, err := SES(got.Message)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Kind != Hard || evs[0].Recipient != "leo@example.com" ||
			evs[0].MessageID != "<m5@mail.example.org>" || evs[0].ReturnPath != "bounces+tok5@bounce.example.org" {
			t.Errorf("events %+v", evs)
		}
	}
	if fetched != 1 {
		t.Errorf("certificate fetched %d times, want once (kept)", fetched)
	}
	// A changed message, another topic, a certificate from elsewhere: refused.
	b := signer.sign(t, m, "2")
	forged := []byte(strings.Replace(string(b), "leo@example.com", "eve@example.com", 1))
	if _, err := sns.Verify(context.Background(), forged); !errors.Is(err, ErrSignature) {
		t.Errorf("forged: err %v, want ErrSignature", err)
	}
	other := *m
	other.TopicArn = "arn:aws:sns:eu-west-1:999999999999:x"
	if _, err := sns.Verify(context.Background(), signer.sign(t, &other, "2")); !errors.Is(err, ErrSignature) {
		t.Errorf("other topic: err %v, want ErrSignature", err)
	}
	evil := *m
	evil.SigningCertURL = "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem"
	if _, err := sns.Verify(context.Background(), signer.sign(t, &evil, "2")); !errors.Is(err, ErrSignature) {
		t.Errorf("certificate from elsewhere: err %v, want ErrSignature", err)
	}
	// Subscription confirmation: signed over its own fields; the URL to
	// visit must be SNS's.
	sub := &SNSMessage{Type: "SubscriptionConfirmation", MessageID: "s-1", Token: "tok",
		TopicArn: m.TopicArn, Message: "You have chosen to subscribe", Timestamp: m.Timestamp, SigningCertURL: certURL,
		SubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"}
	got, err := sns.Verify(context.Background(), signer.sign(t, sub, "2"))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := got.ConfirmURL(); err != nil || !strings.HasPrefix(u, "https://sns.eu-west-1.amazonaws.com/") {
		t.Errorf("confirm URL %q, %v", u, err)
	}
	sub.SubscribeURL = "https://attacker.example/?x"
	got, err = sns.Verify(context.Background(), signer.sign(t, sub, "2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.ConfirmURL(); err == nil {
		t.Error("a subscription URL off SNS was accepted")
	}
}

func TestSESEvents(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want []Kind
	}{
		{`{"eventType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"a@example.com"}]},"mail":{}}`, []Kind{Soft}},
		{`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"Suppressed","bouncedRecipients":[{"emailAddress":"a@example.com"}]},"mail":{}}`, []Kind{Policy}},
		{`{"notificationType":"Complaint","complaint":{"complaintFeedbackType":"abuse","complainedRecipients":[{"emailAddress":"a@example.com"},{"emailAddress":"b@example.com"}]},"mail":{}}`, []Kind{Complaint, Complaint}},
		{`{"notificationType":"Complaint","complaint":{"complaintFeedbackType":"not-spam","complainedRecipients":[{"emailAddress":"a@example.com"}]},"mail":{}}`, nil},
		{`{"eventType":"DeliveryDelay","deliveryDelay":{"delayedRecipients":[{"emailAddress":"a@example.com","status":"4.4.7"}]},"mail":{}}`, []Kind{Delayed}},
		{`{"notificationType":"Delivery","delivery":{"recipients":["a@example.com"]},"mail":{}}`, []Kind{Delivered}},
	} {
		evs, err := SES(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		var got []Kind
		for _, e := range evs {
			got = append(got, e.Kind)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s\n read as %v, want %v", c.msg, got, c.want)
		}
	}
}
