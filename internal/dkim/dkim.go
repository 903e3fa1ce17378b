// Package dkim makes, keeps and uses the DKIM keys of sender domains: it
// generates RSA 2048 and Ed25519 (RFC 8463) keys, seals the private keys
// with a key derived from the service secret, writes the DNS records to
// publish, and signs messages (relaxed/relaxed, From over-signed; see
// sign.go). Signers are parsed once per domain and
// kept (Keyring), so that the hot path of the engine never parses a key.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"simplesender"
)

// SignedHeaders are the header fields a signature covers when the message
// has them; From is signed twice (over-signed) so that no second From can
// be added without breaking the signature.
var SignedHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}

// Generate makes a new key of algorithm (simplesender.KeyRSA: RSA 2048;
// simplesender.KeyEd25519) and returns the private key as PKCS #8 DER and
// the public key as the value of the p= tag of its DNS record.
func Generate(algorithm string) (private []byte, public string, err error) {
	var pub []byte
	switch algorithm {
	case simplesender.KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, "", err
		}
		if private, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return nil, "", err
		}
		if pub, err = x509.MarshalPKIXPublicKey(&k.PublicKey); err != nil {
			return nil, "", err
		}
	case simplesender.KeyEd25519:
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, "", err
		}
		if private, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
			return nil, "", err
		}
		pub = p // RFC 8463: the raw 32-byte key
	default:
		return nil, "", fmt.Errorf("dkim: unknown algorithm %q", algorithm)
	}
	return private, base64.StdEncoding.EncodeToString(pub), nil
}

// Record returns the TXT record to publish at <selector>._domainkey.<domain>
// for a key of algorithm with public key pub (the p= value).
func Record(algorithm, pub string) string {
	k := "rsa"
	if algorithm == simplesender.KeyEd25519 {
		k = "ed25519"
	}
	return "v=DKIM1; k=" + k + "; p=" + pub
}

// RecordName returns where the record of selector is published.
func RecordName(selector, domain string) string { return selector + "._domainkey." + domain }

// RecordMatches reports whether the TXT strings found in DNS (each record's
// strings already joined) hold a DKIM record with public key pub.
func RecordMatches(found []string, pub string) bool {
	for _, rec := range found {
		for _, tag := range strings.Split(rec, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(tag), "=")
			if ok && strings.TrimSpace(k) == "p" && strings.Join(strings.Fields(v), "") == pub {
				return true
			}
		}
	}
	return false
}

// Sealer encrypts private keys for storage with AES-256-GCM under a key
// derived from the service secret.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer keyed by secret.
func NewSealer(secret []byte) *Sealer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dkim private keys"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal encrypts plain and returns it in base64 (nonce, then sealed text).
func (s *Sealer) Seal(plain []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil))
}

// Open decrypts what Seal returned. It fails when the text was altered or
// sealed under another secret.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, errors.New("dkim: sealed key is damaged")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("dkim: sealed key cannot be opened (altered, or sealed under another secret key)")
	}
	return plain, nil
}

// Key is a parsed private key with its selector.
type Key struct {
	Selector string
	Signer   crypto.Signer
}

// ParseKey opens a sealed PKCS #8 private key.
func (s *Sealer) ParseKey(k *simplesender.DKIMKey) (Key, error) {
	der, err := s.Open(k.PrivateKey)
	if err != nil {
		return Key{}, err
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return Key{}, fmt.Errorf("dkim: private key of %s: %w", k.Selector, err)
	}
	cs, ok := p.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("dkim: private key of %s cannot sign", k.Selector)
	}
	return Key{Selector: k.Selector, Signer: cs}, nil
}

// Signer signs the messages of one domain with one or more keys.
type Signer struct {
	domain string
	keys   []Key
}

// NewSigner returns a Signer for domain with keys (at least one).
func NewSigner(domain string, keys []Key) *Signer { return &Signer{domain: domain, keys: keys} }

// Sign returns the DKIM-Signature header fields (one per key, CRLF ended)
// to put before msg, a complete message with CRLF line endings. It signs
// the SignedHeaders that msg has, From twice, relaxed/relaxed.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.sign(msg, time.Now()) }

// presentHeaders returns the SignedHeaders that the header of msg has,
// with From once more.
func presentHeaders(msg []byte) []string {
	head := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		head = msg[:i+2]
	}
	out := make([]string, 0, len(SignedHeaders)+1)
	for _, name := range SignedHeaders {
		if hasHeader(head, name) {
			out = append(out, name)
		}
	}
	return append(out, "From")
}

func hasHeader(head []byte, name string) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.Index(head, []byte("\r\n")); i >= 0 {
			line, head = head[:i], head[i+2:]
		} else {
			head = nil
		}
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name) {
			return true
		}
	}
	return false
}
