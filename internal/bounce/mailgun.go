package bounce

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// mailgunSignature is the signature object of a Mailgun webhook.
type mailgunSignature struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
}

// VerifyMailgun checks a Mailgun webhook (one event per request): the hex
// HMAC-SHA256 of timestamp and token under the webhook signing key, with
// the timestamp within MaxSkew of now. Errors: ErrSignature, ErrStale.
func VerifyMailgun(body []byte, signingKey []byte, now time.Time) error {
	var p mailgunSignature
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("bounce: mailgun: %w", err)
	}
	s := p.Signature
	if len(signingKey) == 0 || s.Token == "" || !sameHex(s.Signature, hmacHex(signingKey, s.Timestamp, s.Token)) {
		return ErrSignature
	}
	ts, err := unixTime(s.Timestamp)
	if err != nil {
		return ErrSignature
	}
	return checkTime(ts, now)
}

// ParseMailgun reads a Mailgun webhook whose signature was checked. Events
// that say nothing about bounces or complaints (opened, clicked...) give an
// event of kind Unknown.
func ParseMailgun(body []byte) (Event, error) {
	var p struct {
		Data struct {
			ID        string  `json:"id"`
			Event     string  `json:"event"`
			Severity  string  `json:"severity"`
			Reason    string  `json:"reason"`
			Recipient string  `json:"recipient"`
			Timestamp float64 `json:"timestamp"`
			Status    struct {
				Code         int    `json:"code"`
				EnhancedCode string `json:"enhanced-code"`
				Message      string `json:"message"`
				Description  string `json:"description"`
			} `json:"delivery-status"`
			Message struct {
				Headers struct {
					MessageID string `json:"message-id"`
				} `json:"headers"`
			} `json:"message"`
			UserVariables map[string]any `json:"user-variables"`
		} `json:"event-data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("bounce: mailgun: %w", err)
	}
	d := p.Data
	var ev Event
	switch d.Event {
	case "failed":
		diag := d.Status.Message
		if diag == "" {
			diag = d.Status.Description
		}
		if d.Status.Code != 0 {
			diag = strconv.Itoa(d.Status.Code) + " " + diag
		}
		var k Kind
		switch {
		case d.Severity == "temporary":
			k = Soft
		case d.Reason == "suppress-bounce" || d.Reason == "suppress-complaint" || d.Reason == "suppress-unsubscribe":
			k = Policy // Mailgun's own suppression list: not news about the address
		}
		ev = bounceEvent("mailgun", d.Recipient, d.Status.EnhancedCode, diag, k)
	case "complained":
		ev = Event{Report: Report{Kind: Complaint, Source: SourceWebhook, Recipient: address(d.Recipient)}}
	case "delivered":
		ev = Event{Report: Report{Kind: Delivered, Source: SourceWebhook, Recipient: address(d.Recipient)}}
	default:
		ev = Event{Report: Report{Kind: Unknown, Source: SourceWebhook, Recipient: address(d.Recipient)}}
	}
	ev.Provider, ev.ProviderID = "mailgun", d.ID
	ev.MessageID = angle(d.Message.Headers.MessageID)
	if d.Timestamp > 0 {
		ev.At = time.Unix(0, int64(d.Timestamp*1e9)).UTC()
	}
	ev.Metadata = flatten(d.UserVariables)
	return ev, nil
}
