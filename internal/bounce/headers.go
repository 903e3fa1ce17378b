package bounce

import (
	"io"
	"mime"
	"net/mail"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// headerView reads a message's header fields, decoding RFC 2047 words.
type headerView struct{ h mail.Header }

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(strings.ToLower(charset))
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(r), nil
}}

func (v headerView) get(name string) string {
	raw := v.h.Get(name)
	if dec, err := wordDecoder.DecodeHeader(raw); err == nil {
		return dec
	}
	return raw
}

func (v headerView) subject() string { return v.get("Subject") }

// Subjects of bounces from servers that do not send RFC 3464 reports, in
// English and Russian (lower-case, matched anywhere in the subject).
var bounceSubjects = []string{"undeliver", "returned mail", "delivery status notification",
	"delivery failure", "failure notice", "mail delivery failed", "delivery has failed",
	"could not be delivered", "delivery failed", "mail system error", "non remis", "unzustellbar",
	"недоставлен", "не доставлен", "не может быть доставлено", "ошибка доставки"}

// isBounce says whether a message without a delivery-status part still
// looks like a bounce: from a mail daemon, or with a bounce's subject.
func isBounce(v headerView, isReport bool) bool {
	if isReport {
		return true
	}
	if from, err := mail.ParseAddress(v.h.Get("From")); err == nil && isDaemon(strings.ToLower(from.Address)) {
		return true
	}
	s := strings.ToLower(v.subject())
	for _, w := range bounceSubjects {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Subjects of automatic replies (lower-case prefixes or phrases).
var autoSubjects = []string{"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply",
	"out of office", "out of the office", "i am out of", "i'm out of", "away from", "on vacation",
	"автоответ", "автоматический ответ", "нет на месте", "в отпуске", "вне офиса"}

// isAutoReply says whether a message is an automatic reply (RFC 3834 and
// the headers and subjects of common out-of-office implementations).
func isAutoReply(v headerView) bool {
	if as := strings.ToLower(strings.TrimSpace(v.h.Get("Auto-Submitted"))); as != "" && as != "no" {
		return true
	}
	for _, h := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if v.h.Get(h) != "" {
			return true
		}
	}
	switch strings.ToLower(strings.TrimSpace(v.h.Get("Precedence"))) {
	case "auto_reply", "auto-reply":
		return true
	}
	s := strings.ToLower(v.subject())
	for _, w := range autoSubjects {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
