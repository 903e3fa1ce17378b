package bounce

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SNSMessage is an Amazon SNS HTTP(S) delivery: a notification (an SES
// event in Message) or a subscription confirmation.
type SNSMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL"`
}

// SNS checks Amazon SNS message signatures. The signing certificate is
// fetched from Amazon (only from an https sns.<region>.amazonaws.com URL)
// and kept.
type SNS struct {
	// Topics, when not empty, are the only topic ARNs accepted.
	Topics []string
	// Fetch gets a certificate; nil means an HTTPS GET with a timeout.
	// Tests serve their own.
	Fetch func(ctx context.Context, url string) ([]byte, error)

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

// The hosts SNS signs from and confirms subscriptions at.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsURL checks that u is an https URL of SNS itself.
func snsURL(u string) (*url.URL, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || !snsHost.MatchString(p.Hostname()) || p.User != nil {
		return nil, fmt.Errorf("bounce: %q is not an Amazon SNS address", clean(u, 200))
	}
	return p, nil
}

// Verify reads an SNS delivery and checks its signature (versions 1,
// SHA1withRSA, and 2, SHA256withRSA) and topic.
func (s *SNS) Verify(ctx context.Context, body []byte) (*SNSMessage, error) {
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("bounce: sns: %w", err)
	}
	if len(s.Topics) > 0 {
		ok := false
		for _, t := range s.Topics {
			ok = ok || t == m.TopicArn
		}
		if !ok {
			return nil, ErrSignature
		}
	}
	if u, err := snsURL(m.SigningCertURL); err != nil || !strings.HasSuffix(u.Path, ".pem") {
		return nil, ErrSignature
	}
	cert, err := s.cert(ctx, m.SigningCertURL)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, ErrSignature
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return nil, ErrSignature
	}
	text := m.signed()
	if text == "" {
		return nil, ErrSignature
	}
	switch m.SignatureVersion {
	case "1":
		h := sha1.Sum([]byte(text))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig)
	case "2":
		h := sha256.Sum256([]byte(text))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	default:
		err = ErrSignature
	}
	if err != nil {
		return nil, ErrSignature
	}
	return &m, nil
}

// signed is the text SNS signs: chosen fields, "Name\nvalue\n" each, in
// this order; "" for a type that is not signed this way.
func (m *SNSMessage) signed() string {
	var names []string
	switch m.Type {
	case "Notification":
		names = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		names = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	default:
		return ""
	}
	vals := map[string]string{"Message": m.Message, "MessageId": m.MessageID, "Subject": m.Subject,
		"Timestamp": m.Timestamp, "TopicArn": m.TopicArn, "Type": m.Type, "SubscribeURL": m.SubscribeURL,
		"Token": m.Token}
	var b strings.Builder
	for _, n := range names {
		if n == "Subject" && m.Subject == "" {
			continue
		}
		b.WriteString(n + "\n" + vals[n] + "\n")
	}
	return b.String()
}

// ConfirmURL is the address to GET to confirm a subscription, checked to
// be SNS's own.
func (m *SNSMessage) ConfirmURL() (string, error) {
	if m.Type != "SubscriptionConfirmation" {
		return "", errors.New("bounce: not a subscription confirmation")
	}
	u, err := snsURL(m.SubscribeURL)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (s *SNS) cert(ctx context.Context, u string) (*x509.Certificate, error) {
	s.mu.Lock()
	c := s.certs[u]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	fetch := s.Fetch
	if fetch == nil {
		fetch = fetchHTTPS
	}
	b, err := fetch(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("bounce: sns certificate: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, ErrSignature
	}
	c, err = x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, ErrSignature
	}
	s.mu.Lock()
	if s.certs == nil || len(s.certs) > 100 {
		s.certs = map[string]*x509.Certificate{}
	}
	s.certs[u] = c
	s.mu.Unlock()
	return c, nil
}

func fetchHTTPS(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
}

// SES reads the SES event an SNS notification carries (Message), whether
// sent as a feedback notification (notificationType) or by event
// publishing (eventType): one event per recipient it names.
func SES(message string) ([]Event, error) {
	type rcpt struct {
		Email      string `json:"emailAddress"`
		Action     string `json:"action"`
		Status     string `json:"status"`
		Diagnostic string `json:"diagnosticCode"`
	}
	var p struct {
		NotificationType string `json:"notificationType"`
		EventType        string `json:"eventType"`
		Bounce           struct {
			Type       string    `json:"bounceType"`
			SubType    string    `json:"bounceSubType"`
			Recipients []rcpt    `json:"bouncedRecipients"`
			Timestamp  time.Time `json:"timestamp"`
			FeedbackID string    `json:"feedbackId"`
		} `json:"bounce"`
		Complaint struct {
			Recipients []rcpt    `json:"complainedRecipients"`
			Type       string    `json:"complaintFeedbackType"`
			Timestamp  time.Time `json:"timestamp"`
			FeedbackID string    `json:"feedbackId"`
		} `json:"complaint"`
		Delivery struct {
			Recipients []string  `json:"recipients"`
			Timestamp  time.Time `json:"timestamp"`
		} `json:"delivery"`
		Delay struct {
			Recipients []rcpt    `json:"delayedRecipients"`
			Timestamp  time.Time `json:"timestamp"`
		} `json:"deliveryDelay"`
		Mail struct {
			MessageID string `json:"messageId"`
			Source    string `json:"source"`
			Headers   []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"headers"`
			Common struct {
				MessageID string `json:"messageId"`
			} `json:"commonHeaders"`
		} `json:"mail"`
	}
	if err := json.Unmarshal([]byte(message), &p); err != nil {
		return nil, fmt.Errorf("bounce: ses: %w", err)
	}
	kind := p.NotificationType
	if kind == "" {
		kind = p.EventType
	}
	meta := map[string]string{}
	msgID := p.Mail.Common.MessageID
	for _, h := range p.Mail.Headers {
		n := strings.ToLower(h.Name)
		meta[n] = h.Value
		if n == "message-id" && msgID == "" {
			msgID = h.Value
		}
	}
	if p.Mail.Source != "" {
		meta["return-path"] = p.Mail.Source
	}
	var out []Event
	add := func(ev Event, at time.Time, id string) {
		ev.Provider, ev.At, ev.ProviderID, ev.Metadata = "ses", at, id, meta
		ev.MessageID, ev.ReturnPath = angle(msgID), address(p.Mail.Source)
		out = append(out, ev)
	}
	switch kind {
	case "Bounce":
		b := p.Bounce
		var k Kind
		switch {
		case b.SubType == "Suppressed" || b.SubType == "OnAccountSuppressionList":
			k = Policy // SES's own list: not news about the address
		case b.SubType == "MessageTooLarge" || b.SubType == "ContentRejected" || b.SubType == "AttachmentRejected":
			k = Policy
		case b.Type == "Permanent":
			k = Hard
		case b.Type == "Transient":
			k = Soft
		}
		for _, r := range b.Recipients {
			add(bounceEvent("ses", r.Email, r.Status, r.Diagnostic, k), b.Timestamp, b.FeedbackID)
		}
	case "Complaint":
		c := p.Complaint
		if c.Type == "not-spam" {
			return nil, nil
		}
		for _, r := range c.Recipients {
			add(Event{Report: Report{Kind: Complaint, Source: SourceWebhook, Recipient: address(r.Email),
				FeedbackType: clean(c.Type, 64)}}, c.Timestamp, c.FeedbackID)
		}
	case "DeliveryDelay":
		for _, r := range p.Delay.Recipients {
			ev := bounceEvent("ses", r.Email, r.Status, r.Diagnostic, Delayed)
			ev.Action = "delayed"
			add(ev, p.Delay.Timestamp, "")
		}
	case "Delivery":
		for _, r := range p.Delivery.Recipients {
			add(Event{Report: Report{Kind: Delivered, Source: SourceWebhook, Recipient: address(r)}}, p.Delivery.Timestamp, "")
		}
	}
	return out, nil
}

// ParseSNS reads the SES events of an SNS delivery whose signature was
// checked; a subscription confirmation or another type gives none.
func ParseSNS(body []byte) ([]Event, error) {
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("bounce: sns: %w", err)
	}
	if m.Type != "Notification" {
		return nil, nil
	}
	return SES(m.Message)
}

// ParseWebhook reads the body of a provider's webhook ("ses", "postmark",
// "sendgrid", "mailgun", "generic") whose signature was checked when it
// arrived.
func ParseWebhook(provider string, body []byte) ([]Event, error) {
	one := func(e Event, err error) ([]Event, error) {
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	}
	switch provider {
	case "ses":
		return ParseSNS(body)
	case "postmark":
		return one(ParsePostmark(body))
	case "sendgrid":
		return ParseSendGrid(body)
	case "mailgun":
		return one(ParseMailgun(body))
	case "generic":
		return ParseGeneric(body)
	}
	return nil, fmt.Errorf("bounce: no webhook reader for %q", clean(provider, 40))
}
