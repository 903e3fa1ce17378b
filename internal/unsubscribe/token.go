// Package unsubscribe makes and checks the links by which a recipient
// leaves an owner's mailings (RFC 2369, RFC 8058), writes the List-*
// headers (RFC 2369, RFC 2919) and the visible footer of mailing messages.
// It knows nothing of the database: a token names a delivery (or a test of
// a mailing), and the app looks the rest up.
//
// A token is 32 bytes in base64url (43 characters): one AES-128 block that
// hides what it names, then the first 16 bytes of an HMAC-SHA256 of that
// block. Both keys are derived from the service's secret key, so nobody
// without it can make a token or read the id inside one, and a changed
// character fails the HMAC before anything is decrypted.
package unsubscribe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"unicode"
)

// TokenLen is the length of a token in characters.
const TokenLen = 43

const (
	version  = 1
	flagTest = 1 << 0 // a test of a mailing: the id is the mailing's
	flagRu   = 1 << 1 // the recipient's page speaks Russian
)

// ErrInvalid is returned for a token that is not one of ours: forged,
// damaged, truncated or made with another secret key.
var ErrInvalid = errors.New("unsubscribe: invalid token")

// Target is what a token names.
type Target struct {
	// ID is the delivery's id, or the mailing's for a test.
	ID int64
	// Test is set for the token of a test message, which changes nothing.
	Test bool
	// Lang is the language of the recipient's page: "ru" or "en".
	Lang string
}

// Keys makes and opens tokens.
type Keys struct {
	block cipher.Block
	mac   []byte
}

// NewKeys derives the token keys from the service's secret key.
func NewKeys(secret []byte) *Keys {
	enc := derive(secret, "unsubscribe token encryption")[:16]
	b, err := aes.NewCipher(enc)
	if err != nil {
		panic(err) // a 16-byte key is always accepted
	}
	return &Keys{block: b, mac: derive(secret, "unsubscribe token mac")}
}

func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Token returns the token of t. It is the same for the same target, so a
// message sent again carries the same link.
func (k *Keys) Token(t Target) string {
	var plain, out [32]byte
	plain[0] = version
	if t.Test {
		plain[1] |= flagTest
	}
	if t.Lang == "ru" {
		plain[1] |= flagRu
	}
	binary.BigEndian.PutUint64(plain[2:10], uint64(t.ID))
	k.block.Encrypt(out[:16], plain[:16])
	copy(out[16:], k.tag(out[:16]))
	return base64.RawURLEncoding.EncodeToString(out[:])
}

func (k *Keys) tag(block []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(block)
	return m.Sum(nil)[:16]
}

// Open checks token and returns what it names, or ErrInvalid.
func (k *Keys) Open(token string) (Target, error) {
	if len(token) != TokenLen {
		return Target{}, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		return Target{}, ErrInvalid
	}
	if subtle.ConstantTimeCompare(k.tag(raw[:16]), raw[16:]) != 1 {
		return Target{}, ErrInvalid
	}
	var plain [16]byte
	k.block.Decrypt(plain[:], raw[:16])
	id := int64(binary.BigEndian.Uint64(plain[2:10]))
	if plain[0] != version || plain[1]&^(flagTest|flagRu) != 0 || id <= 0 {
		return Target{}, ErrInvalid
	}
	for _, b := range plain[10:] {
		if b != 0 {
			return Target{}, ErrInvalid
		}
	}
	t := Target{ID: id, Test: plain[1]&flagTest != 0, Lang: "en"}
	if plain[1]&flagRu != 0 {
		t.Lang = "ru"
	}
	return t, nil
}

// Lang is the language of a message's recipient as the message shows it:
// "ru" when any of the texts has a Cyrillic letter, "en" otherwise. The
// recipient reads the message, so its language is the best guess there is
// for the page they land on.
func Lang(texts ...string) string {
	for _, s := range texts {
		for _, r := range s {
			if r >= 0x0400 && r <= 0x04FF && unicode.IsLetter(r) {
				return "ru"
			}
		}
	}
	return "en"
}
