package bounce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// GenericSignatureHeader is the header of the generic webhook's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>", several v1
// values allowed while a secret is being rotated.
const GenericSignatureHeader = "X-Simplesender-Signature"

// SignGeneric returns the GenericSignatureHeader value for body at t: what a
// sender of the generic webhook computes (documented in docs/).
func SignGeneric(body, secret []byte, t time.Time) string {
	ts := fmt.Sprint(t.Unix())
	return "t=" + ts + ",v1=" + hmacHex(secret, ts, ".", string(body))
}

// VerifyGeneric checks the generic signed JSON webhook (see ParseGeneric):
// GenericSignatureHeader's HMAC of the timestamp and the body under the
// secret, the timestamp within MaxSkew of now. Errors: ErrSignature,
// ErrStale.
func VerifyGeneric(body []byte, signature string, secret []byte, now time.Time) error {
	if len(secret) == 0 {
		return ErrSignature
	}
	var ts string
	var sigs []string
	for _, kv := range strings.Split(signature, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	want := hmacHex(secret, ts, ".", string(body))
	ok := false
	for _, s := range sigs {
		if sameHex(s, want) {
			ok = true
		}
	}
	if ts == "" || !ok {
		return ErrSignature
	}
	t, err := unixTime(ts)
	if err != nil {
		return ErrSignature
	}
	return checkTime(t, now)
}

// ParseGeneric reads the generic JSON webhook, for providers and relays
// this package has no reader of, whose signature was checked:
//
//	{"events": [{"type": "bounce", "recipient": "ann@example.net",
//	  "message_id": "<...>", "status": "5.1.1", "diagnostic": "550 ...",
//	  "bounce": "hard", "at": "2026-12-03T10:15:00Z", "id": "...",
//	  "metadata": {"...": "..."}}]}
//
// type is bounce, complaint, delayed or delivered; bounce is hard, soft or
// policy, and when absent the status and diagnostic decide.
func ParseGeneric(body []byte) ([]Event, error) {
	var p struct {
		Events []struct {
			ID         string            `json:"id"`
			Type       string            `json:"type"`
			Recipient  string            `json:"recipient"`
			MessageID  string            `json:"message_id"`
			Status     string            `json:"status"`
			Diagnostic string            `json:"diagnostic"`
			Bounce     string            `json:"bounce"`
			At         time.Time         `json:"at"`
			Metadata   map[string]string `json:"metadata"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("bounce: generic webhook: %w", err)
	}
	out := make([]Event, 0, len(p.Events))
	for _, e := range p.Events {
		var ev Event
		switch e.Type {
		case "bounce":
			var k Kind
			switch e.Bounce {
			case "hard":
				k = Hard
			case "soft":
				k = Soft
			case "policy":
				k = Policy
			}
			ev = bounceEvent("generic", e.Recipient, e.Status, e.Diagnostic, k)
		case "complaint":
			ev = Event{Report: Report{Kind: Complaint, Source: SourceWebhook, Recipient: address(e.Recipient)}}
		case "delayed":
			ev = bounceEvent("generic", e.Recipient, e.Status, e.Diagnostic, Delayed)
			ev.Action = "delayed"
		case "delivered":
			ev = Event{Report: Report{Kind: Delivered, Source: SourceWebhook, Recipient: address(e.Recipient)}}
		default:
			return nil, fmt.Errorf("bounce: generic webhook: unknown event type %q", clean(e.Type, 40))
		}
		ev.Provider, ev.ProviderID, ev.At, ev.Metadata = "generic", e.ID, e.At, e.Metadata
		ev.MessageID = angle(e.MessageID)
		out = append(out, ev)
	}
	return out, nil
}
