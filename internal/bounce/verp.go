package bounce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// VERP makes and reads the envelope senders (RFC 5321 MAIL FROM) that name
// the delivery a bounce is about: PREFIX+TOKEN@DOMAIN. TOKEN is the
// delivery's id and an 80-bit HMAC of it under a key derived from the
// service's secret, base32 in lower case, so a bounce names its delivery
// without guessing and a forged bounce names none. The same token starts
// each message's Message-ID, so a report that quotes only the original
// headers finds its delivery too.
type VERP struct {
	key    []byte
	prefix string // local-part prefix, e.g. "bounces"
	domain string // the bounce domain, e.g. "bounce.example.org"
}

// NewVERP returns the VERP of a service with secret, its addresses
// prefix+TOKEN@domain.
func NewVERP(secret []byte, prefix, domain string) *VERP {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("simplesender verp v1"))
	return &VERP{key: m.Sum(nil), prefix: strings.ToLower(prefix), domain: strings.ToLower(domain)}
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

const macLen = 10

// Token returns delivery's token.
func (v *VERP) Token(delivery int64) string {
	b := binary.AppendUvarint(make([]byte, 0, 20), uint64(delivery))
	return b32.EncodeToString(append(b, v.mac(b)...))
}

func (v *VERP) mac(id []byte) []byte {
	m := hmac.New(sha256.New, v.key)
	m.Write(id)
	return m.Sum(nil)[:macLen]
}

// Delivery returns the delivery a token names; false for a forged or
// damaged token. Case does not matter (some servers change it).
func (v *VERP) Delivery(token string) (int64, bool) {
	b, err := b32.DecodeString(strings.ToLower(token))
	if err != nil || len(b) <= macLen {
		return 0, false
	}
	id, n := binary.Uvarint(b)
	if n <= 0 || n != len(b)-macLen || id == 0 || id > 1<<62 {
		return 0, false
	}
	if !hmac.Equal(b[n:], v.mac(b[:n])) {
		return 0, false
	}
	return int64(id), true
}

// Address is delivery's envelope sender.
func (v *VERP) Address(delivery int64) string {
	return v.prefix + "+" + v.Token(delivery) + "@" + v.domain
}

// FromAddress returns the delivery an envelope address names (a bounce's
// RCPT TO, or the quoted Return-Path); false when it is not one of ours.
func (v *VERP) FromAddress(addr string) (int64, bool) {
	addr = strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || domain != v.domain {
		return 0, false
	}
	prefix, token, ok := strings.Cut(local, "+")
	if !ok || prefix != v.prefix {
		return 0, false
	}
	return v.Delivery(token)
}

// MessageID returns a Message-ID for delivery's message: the token, a
// random part (a retried message gets a new id), and host; angle brackets
// included.
func (v *VERP) MessageID(delivery int64, random, host string) string {
	return "<" + v.Token(delivery) + "." + random + "@" + host + ">"
}

// FromMessageID returns the delivery a quoted Message-ID names; false when
// it is not one of ours.
func (v *VERP) FromMessageID(id string) (int64, bool) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	local, _, ok := strings.Cut(id, "@")
	if !ok {
		return 0, false
	}
	token, _, ok := strings.Cut(local, ".")
	if !ok {
		return 0, false
	}
	return v.Delivery(token)
}
