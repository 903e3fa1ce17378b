package bounce

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"
)

// VerifyPostmark checks a Postmark webhook. Postmark does not sign its
// webhooks; it sends the credentials put in the webhook's URL as HTTP basic
// authentication, so the caller passes what the request carried (user,
// password) and what is configured (wantUser, wantPassword).
func VerifyPostmark(user, password, wantUser, wantPassword string) error {
	if wantPassword == "" ||
		subtle.ConstantTimeCompare([]byte(user), []byte(wantUser)) != 1 ||
		subtle.ConstantTimeCompare([]byte(password), []byte(wantPassword)) != 1 {
		return ErrSignature
	}
	return nil
}

// ParsePostmark reads a Postmark webhook whose credentials were checked.
func ParsePostmark(body []byte) (Event, error) {
	var p struct {
		RecordType  string            `json:"RecordType"`
		ID          json.Number       `json:"ID"`
		Type        string            `json:"Type"`
		MessageID   string            `json:"MessageID"`
		Email       string            `json:"Email"`
		Recipient   string            `json:"Recipient"`
		BouncedAt   time.Time         `json:"BouncedAt"`
		DeliveredAt time.Time         `json:"DeliveredAt"`
		Details     string            `json:"Details"`
		Description string            `json:"Description"`
		Metadata    map[string]string `json:"Metadata"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("bounce: postmark: %w", err)
	}
	var ev Event
	switch p.RecordType {
	case "Bounce":
		diag := p.Details
		if diag == "" {
			diag = p.Description
		}
		var k Kind
		switch p.Type {
		case "HardBounce", "BadEmailAddress", "ManuallyDeactivated", "AddressChange":
			k = Hard
		case "SoftBounce", "Transient", "DnsError", "ChallengeVerification":
			k = Soft
		case "SpamNotification", "SpamComplaint":
			k = Complaint
		case "Blocked", "ContentRelated", "VirusNotification", "SMTPApiError", "InboundError":
			k = Policy
		case "AutoResponder", "OpenRelayTest", "DMARCPolicy":
			k = AutoReply
		case "Unsubscribe", "Subscribe":
			k = Unknown
		}
		ev = bounceEvent("postmark", p.Email, "", diag, k)
		ev.At = p.BouncedAt
	case "SpamComplaint":
		ev = Event{Report: Report{Kind: Complaint, Source: SourceWebhook, Recipient: address(p.Email)}, At: p.BouncedAt}
	case "Delivery":
		ev = Event{Report: Report{Kind: Delivered, Source: SourceWebhook, Recipient: address(p.Recipient)}, At: p.DeliveredAt}
	default:
		ev = Event{Report: Report{Kind: Unknown, Source: SourceWebhook, Recipient: address(p.Email)}}
	}
	ev.Provider, ev.ProviderID, ev.Metadata = "postmark", p.ID.String(), p.Metadata
	// Postmark's MessageID is its own id, not the Message-ID header.
	if ev.Metadata == nil {
		ev.Metadata = map[string]string{}
	}
	if p.MessageID != "" {
		ev.Metadata["postmark-message-id"] = p.MessageID
	}
	return ev, nil
}
