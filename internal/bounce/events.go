package bounce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is what a sending provider's webhook says about one message to one
// recipient, read into the terms of this package.
type Event struct {
	Provider string // ses, postmark, sendgrid, mailgun, generic
	Report
	At time.Time // when the provider saw it; zero when it does not say
	// Metadata holds what the sender attached to the message and the
	// provider hands back (SendGrid custom arguments, Mailgun user
	// variables, Postmark metadata, SES's copy of the message's headers
	// under their lower-case names): how an event finds its delivery.
	Metadata map[string]string
	// ProviderID is the provider's own id of the event, for de-duplication.
	ProviderID string
}

// ErrSignature is returned when a webhook's signature or credentials do
// not check out: the request must be refused and nothing changed.
var ErrSignature = errors.New("bounce: the webhook's signature does not check out")

// ErrStale is returned when a signed webhook's timestamp is too far from
// now (a replay).
var ErrStale = errors.New("bounce: the webhook's timestamp is too old or in the future")

// MaxSkew is how far a signed webhook's timestamp may be from now.
const MaxSkew = 10 * time.Minute

func checkTime(ts time.Time, now time.Time) error {
	if d := now.Sub(ts); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	return nil
}

// unixTime reads a Unix timestamp in seconds, possibly fractional.
func unixTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 {
		return time.Time{}, fmt.Errorf("bounce: bad timestamp %q", s)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// hmacHex is the hex HMAC-SHA256 of parts, concatenated, under key.
func hmacHex(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// sameHex compares two hex strings in constant time.
func sameHex(a, b string) bool {
	return hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(a))), []byte(strings.ToLower(b)))
}

// bounceEvent fills a report from a provider's words: the status code and
// the server's words decide through Classify unless the provider has
// already said hard or soft in a way that overrides them.
func bounceEvent(provider, rcpt, status, diag string, override Kind) Event {
	if status == "" {
		status = findStatus(diag)
	}
	k := override
	if k == "" {
		k = Classify("failed", status, diag)
	}
	return Event{Provider: provider, Report: Report{Kind: k, Source: SourceWebhook, Recipient: address(rcpt),
		Action: "failed", Status: status, Diagnostic: clean(diag, MaxDiagnostic)}}
}

// flatten turns a provider's metadata object into strings; nested values
// are kept as their JSON-ish text.
func flatten(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// angle returns a Message-ID in angle brackets, "" for none.
func angle(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return ""
	}
	if !strings.HasPrefix(id, "<") {
		id = "<" + strings.Trim(id, "<>") + ">"
	}
	return clean(id, 255)
}
