package dkim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"simplesender"
)

// message4K is a mailing message of about 4.3 KB, as Build writes one.
func message4K() []byte {
	var b bytes.Buffer
	b.WriteString("Date: Thu, 03 Dec 2026 16:40:00 +0000\r\nFrom: Shop <news@shop.example>\r\nTo: Anna <anna@inbox.example>\r\n" +
		"Subject: =?utf-8?q?Weekly_news?=\r\nMessage-ID: <abc@shop.example>\r\n" +
		"List-Unsubscribe: <https://send.example/u/tok>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for b.Len() < 4300 {
		b.WriteString("Hello Anna, this is the weekly news of our shop with a line of text.\r\n")
	}
	return b.Bytes()
}

func testSigner(t testing.TB, alg string) (*Signer, *simplesender.DKIMKey) {
	t.Helper()
	priv, pub, err := Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSealer([]byte("secret"))
	k := &simplesender.DKIMKey{Selector: "s1" + alg[:1], Algorithm: alg, PrivateKey: s.Seal(priv), PublicKey: pub}
	pk, err := s.ParseKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner("shop.example", []Key{pk}), k
}

// TestSealedKeysOpenOnlyWithTheirSecret: a sealed private key opens with
// the secret it was sealed under, not with another, and not altered.
func TestSealedKeysOpenOnlyWithTheirSecret(t *testing.T) {
	priv, _, err := Generate(simplesender.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	sealed := NewSealer([]byte("one")).Seal(priv)
	if bytes.Contains([]byte(sealed), priv) {
		t.Fatal("the sealed key holds the key in clear")
	}
	if got, err := NewSealer([]byte("one")).Open(sealed); err != nil || !bytes.Equal(got, priv) {
		t.Errorf("open: %v", err)
	}
	if _, err := NewSealer([]byte("two")).Open(sealed); err == nil {
		t.Error("opened with another secret")
	}
	b := []byte(sealed)
	b[len(b)/2] ^= 1
	if _, err := NewSealer([]byte("one")).Open(string(b)); err == nil {
		t.Error("opened an altered key")
	}
}

// TestSignatureCoversThePresentHeadersAndOverSignsFrom: the signature
// lists the signed headers the message has (List-Id, absent, is left out),
// From twice, relaxed/relaxed; the record matches only its own key.
func TestSignatureCoversThePresentHeadersAndOverSignsFrom(t *testing.T) {
	for _, alg := range []string{simplesender.KeyRSA, simplesender.KeyEd25519} {
		s, k := testSigner(t, alg)
		sig, err := s.Sign(message4K())
		if err != nil {
			t.Fatal(err)
		}
		flat := strings.Join(strings.Fields(string(sig)), "")
		want := "h=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:List-Unsubscribe:List-Unsubscribe-Post:From;"
		if !strings.HasPrefix(string(sig), "DKIM-Signature:") || !strings.Contains(flat, want) || !strings.Contains(flat, "c=relaxed/relaxed") ||
			!strings.Contains(flat, "d=shop.example") || !strings.Contains(flat, "s="+k.Selector) {
			t.Errorf("%s signature: %s", alg, sig)
		}
		rec := Record(alg, k.PublicKey)
		if !RecordMatches([]string{rec}, k.PublicKey) || RecordMatches([]string{rec}, k.PublicKey[:len(k.PublicKey)-4]+"AAAA") {
			t.Errorf("%s record matching", alg)
		}
	}
}

// TestKeyringParsesKeysOncePerDomain: the keyring loads and parses a
// domain's keys once within its TTL, and again after Forget.
func TestKeyringParsesKeysOncePerDomain(t *testing.T) {
	_, k := testSigner(t, simplesender.KeyEd25519)
	loads := 0
	r := NewKeyring(NewSealer([]byte("secret")), func(context.Context, int64, string) ([]*simplesender.DKIMKey, error) {
		loads++
		return []*simplesender.DKIMKey{k}, nil
	}, time.Hour)
	for range 3 {
		if sig, err := r.Sign(context.Background(), 1, "shop.example", message4K()); err != nil || len(sig) == 0 {
			t.Fatal(err)
		}
	}
	r.Forget(1, "shop.example")
	r.Sign(context.Background(), 1, "shop.example", message4K())
	if loads != 2 {
		t.Errorf("loads: %d, want 2", loads)
	}
}

// BenchmarkSign is the cost of signing one 4.3 KB message with one key of
// each type (the hot path: the signer is parsed already).
func BenchmarkSign(b *testing.B) {
	msg := message4K()
	for _, alg := range []string{simplesender.KeyRSA, simplesender.KeyEd25519} {
		b.Run(alg, func(b *testing.B) {
			s, _ := testSigner(b, alg)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := s.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
