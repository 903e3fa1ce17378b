package dkim

import (
	"bytes"
	"crypto"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"simplesender"
)

// bothKeys returns a signer with an RSA and an Ed25519 key, and the TXT
// records of their selectors.
func bothKeys(t testing.TB) (*Signer, map[string]string) {
	t.Helper()
	sealer := NewSealer([]byte("secret"))
	records := map[string]string{}
	var keys []Key
	for _, alg := range []string{simplesender.KeyRSA, simplesender.KeyEd25519} {
		priv, pub, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		k := &simplesender.DKIMKey{Selector: "s1" + alg[:1], Algorithm: alg, PrivateKey: sealer.Seal(priv), PublicKey: pub}
		pk, err := sealer.ParseKey(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pk)
		records[RecordName(k.Selector, "shop.example")] = Record(alg, pub)
	}
	return NewSigner("shop.example", keys), records
}

// awkwardMessages are messages whose canonicalization has something to do:
// whitespace runs, tabs and spaces at line ends, empty and blank lines in
// the middle and at the end, no body, no final CRLF, folded fields, names
// in other cases, a field present twice.
func awkwardMessages() map[string][]byte {
	head := "Date: Thu, 03 Dec 2026 16:40:00 +0000\r\nFrom: Shop <news@shop.example>\r\n" +
		"To: Anna <anna@inbox.example>,\r\n\tBoris <boris@inbox.example>\r\nSUBJECT:   Weekly   news  \r\n" +
		"Message-ID: <abc@shop.example>\r\nmime-version: 1.0\r\nContent-Type: text/plain;\r\n  charset=utf-8\r\n" +
		"List-Id: Shop <7.list.send.example>\r\nList-Id: second <8.list.send.example>\r\n"
	msgs := map[string][]byte{
		"4K":                  message4K(),
		"whitespace":          []byte(head + "\r\nHello  Anna,\t\tthis \t is\r\n  indented line \r\n\r\n \t \r\nafter blank lines\t\r\n\r\n\r\n \r\n"),
		"no body":             []byte(head + "\r\n"),
		"only empty lines":    []byte(head + "\r\n\r\n\r\n  \r\n"),
		"no final CRLF":       []byte(head + "\r\nlast line without an end"),
		"plain, blank at end": []byte(head + "\r\nline one\r\n\r\n line two\r\n\r\n\r\n"),
		"non-ASCII and long":  []byte(head + "\r\n" + strings.Repeat("Привет,  мир! ", 60) + "\r\n"),
	}
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "b", " ", "  ", "\t", "é", "=20", ".", ""}
	for i := range 40 {
		var b strings.Builder
		for range r.IntN(12) {
			for range r.IntN(10) {
				b.WriteString(parts[r.IntN(len(parts))])
			}
			b.WriteString("\r\n")
		}
		msgs[fmt.Sprintf("random %d", i)] = []byte(head + "\r\n" + b.String())
	}
	return msgs
}

// TestSignaturesVerifyWithGoMsgauth: what Sign writes, with both key types
// at once, is verified by go-msgauth's verifier for messages whose
// canonicalization has something to do, its body hash is the one
// go-msgauth's own signer computes, and a changed body or signed field
// fails.
func TestSignaturesVerifyWithGoMsgauth(t *testing.T) {
	s, records := bothKeys(t)
	lookup := func(name string) ([]string, error) {
		if r, ok := records[name]; ok {
			return []string{r}, nil
		}
		return nil, fmt.Errorf("no record at %s", name)
	}
	verify := func(msg []byte) []*msgauth.Verification {
		vs, err := msgauth.VerifyWithOptions(bytes.NewReader(msg), &msgauth.VerifyOptions{LookupTXT: lookup})
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	for name, msg := range awkwardMessages() {
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		signed := append(append([]byte(nil), sig...), msg...)
		vs := verify(signed)
		if len(vs) != 2 {
			t.Fatalf("%s: %d signatures verified, want 2", name, len(vs))
		}
		for _, v := range vs {
			if v.Err != nil || v.Domain != "shop.example" {
				t.Errorf("%s: %s: %v\n%s", name, v.Domain, v.Err, signed)
			}
		}
		// The body hash is go-msgauth's.
		ref, err := msgauth.NewSigner(&msgauth.SignOptions{Domain: "shop.example", Selector: "s1e", Signer: s.keys[1].Signer,
			Hash: crypto.SHA256, HeaderCanonicalization: msgauth.CanonicalizationRelaxed,
			BodyCanonicalization: msgauth.CanonicalizationRelaxed, HeaderKeys: []string{"From"}})
		if err != nil {
			t.Fatal(err)
		}
		ref.Write(msg)
		if err := ref.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := tagOf(string(sig), "bh"), tagOf(ref.Signature(), "bh"); got != want {
			t.Errorf("%s: body hash %s, go-msgauth's %s", name, got, want)
		}
		// Any change to the body or a signed field breaks both signatures.
		for what, changed := range map[string][]byte{
			"body":    bytes.Replace(signed, []byte("\r\n\r\n"), []byte("\r\n\r\nX"), 1),
			"subject": bytes.Replace(signed, []byte("Weekly"), []byte("Weakly"), 1),
			"a From":  append([]byte("From: evil@x.example\r\n"), signed...),
		} {
			if bytes.Equal(changed, signed) {
				continue // the message has no such thing to change
			}
			for _, v := range verify(changed) {
				if v.Err == nil {
					t.Errorf("%s: %s changed, still verified", name, what)
				}
			}
		}
	}
}

// tagOf returns the value of tag in a DKIM-Signature field, whitespace
// removed.
func tagOf(field, tag string) string {
	_, v, _ := strings.Cut(field, ":")
	for _, p := range strings.Split(strings.Join(strings.Fields(v), ""), ";") {
		if k, val, ok := strings.Cut(p, "="); ok && k == tag {
			return val
		}
	}
	return ""
}

// TestSignIsTheSameAtTheSameTime: Ed25519 is deterministic, so the same
// message signed at the same second gives the same field (nothing random
// or left over from an earlier signing leaks in through reused buffers).
func TestSignIsTheSameAtTheSameTime(t *testing.T) {
	s, _ := testSigner(t, simplesender.KeyEd25519)
	at := time.Unix(1796000000, 0)
	a, _ := s.sign(message4K(), at)
	for _, m := range awkwardMessages() {
		s.sign(m, at)
	}
	b, _ := s.sign(message4K(), at)
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte("t=1796000000;")) {
		t.Errorf("two signings differ:\n%s\n%s", a, b)
	}
}
