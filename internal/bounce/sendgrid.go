package bounce

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SendGridKey parses the verification key SendGrid shows for its signed
// event webhook (base64 of a DER public key, ECDSA P-256).
func SendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("bounce: sendgrid key: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("bounce: sendgrid key: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("bounce: sendgrid key: not an ECDSA key")
	}
	return ek, nil
}

// VerifySendGrid checks a SendGrid event webhook's signature: ECDSA over
// SHA-256 of the timestamp header followed by the raw body, the signature
// header base64 DER, and the timestamp within MaxSkew of now. Errors:
// ErrSignature, ErrStale.
func VerifySendGrid(body []byte, signature, timestamp string, key *ecdsa.PublicKey, now time.Time) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if key == nil || err != nil || len(sig) == 0 {
		return ErrSignature
	}
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	if !ecdsa.VerifyASN1(key, h.Sum(nil), sig) {
		return ErrSignature
	}
	ts, err := unixTime(timestamp)
	if err != nil {
		return ErrSignature
	}
	return checkTime(ts, now)
}

// ParseSendGrid reads a SendGrid event webhook (an array of events) whose
// signature was checked. Custom arguments given when sending come back as
// Metadata.
func ParseSendGrid(body []byte) ([]Event, error) {
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("bounce: sendgrid: %w", err)
	}
	known := map[string]bool{"email": true, "timestamp": true, "event": true, "smtp-id": true, "sg_event_id": true,
		"sg_message_id": true, "reason": true, "status": true, "type": true, "response": true, "attempt": true,
		"category": true, "ip": true, "tls": true, "bounce_classification": true, "useragent": true, "url": true,
		"asm_group_id": true, "cert_err": true}
	out := make([]Event, 0, len(raw))
	for _, e := range raw {
		str := func(k string) string { s, _ := e[k].(string); return s }
		var ev Event
		switch str("event") {
		case "bounce":
			var k Kind
			if str("type") == "blocked" {
				k = Policy
			}
			switch str("bounce_classification") {
			case "Reputation", "Content", "Frequency or Volume Limits":
				k = Policy
			}
			ev = bounceEvent("sendgrid", str("email"), str("status"), str("reason"), k)
		case "dropped":
			// SendGrid did not send it (its own suppression, invalid
			// address, spam content): news about the address only when it
			// says the address is invalid.
			k := Policy
			if strings.Contains(strings.ToLower(str("reason")), "invalid") {
				k = Hard
			}
			ev = bounceEvent("sendgrid", str("email"), "", str("reason"), k)
		case "deferred":
			ev = bounceEvent("sendgrid", str("email"), str("status"), str("response"), Delayed)
			ev.Action = "delayed"
		case "spamreport":
			ev = Event{Report: Report{Kind: Complaint, Source: SourceWebhook, Recipient: address(str("email"))}}
		case "delivered":
			ev = Event{Report: Report{Kind: Delivered, Source: SourceWebhook, Recipient: address(str("email"))}}
		default:
			ev = Event{Report: Report{Kind: Unknown, Source: SourceWebhook, Recipient: address(str("email"))}}
		}
		ev.Provider, ev.ProviderID = "sendgrid", str("sg_event_id")
		ev.MessageID = angle(str("smtp-id"))
		if f, ok := e["timestamp"].(float64); ok && f > 0 {
			ev.At, _ = unixTime(strconv.FormatFloat(f, 'f', -1, 64))
		}
		meta := map[string]any{}
		for k, v := range e {
			if !known[k] {
				meta[k] = v
			}
		}
		ev.Metadata = flatten(meta)
		out = append(out, ev)
	}
	return out, nil
}
