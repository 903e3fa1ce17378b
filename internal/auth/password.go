// Package auth holds the security primitives of the service: password hashing
// and rules, random tokens stored as hashes, and server-side login sessions.
package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"simplesender"
)

// argon2id parameters: OWASP's m=19 MiB, t=2, p=1 (about 20 ms here).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns an argon2id hash of password in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, in constant time.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("unsupported password hash")
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, err
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a login names an unknown address, so that
// the answer takes as long as for a known one. It is made on first use, not
// at start: hashing takes the memory of one password check (about 19 MiB),
// which a process that serves no login should not carry into its peak.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a real password, only for timing")
	return h
})

// CheckDummy spends the time of one password check.
func CheckDummy(password string) { _, _ = CheckPassword(dummyHash(), password) }

//go:embed common-passwords.txt
var commonPasswordsFile []byte

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 16000)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsFile))
	for sc.Scan() {
		m[sc.Text()] = struct{}{}
	}
	for _, p := range []string{"йцукенгш", "йцукенгшщз", "пароль123", "пароль1234", "qwertyйцукен", "simplesender"} {
		m[p] = struct{}{}
	}
	return m
}()

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// ValidatePassword applies the password rules for an account with the given
// address: at least 8 characters (at most 256), not all digits, not a common
// password, and not close to the address. It returns KindInvalid with a
// message key for the field "password".
func ValidatePassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	fail := func(key string) error { return simplesender.Invalid(map[string]string{"password": key}) }
	switch {
	case n < MinPasswordLen:
		return fail("error.password.too_short")
	case n > 256 || !utf8.ValidString(password):
		return fail("error.password.too_long")
	case strings.IndexFunc(password, func(r rune) bool { return !unicode.IsDigit(r) }) < 0:
		return fail("error.password.all_digits")
	}
	lp := strings.ToLower(password)
	if _, ok := commonPasswords[lp]; ok {
		return fail("error.password.common")
	}
	if closeToEmail(lp, strings.ToLower(email)) {
		return fail("error.password.like_email")
	}
	return nil
}

// closeToEmail reports whether the password is the address, its local part or
// its domain name, give or take a few characters.
func closeToEmail(pw, email string) bool {
	if email == "" {
		return false
	}
	local, domain, _ := strings.Cut(email, "@")
	name, _, _ := strings.Cut(domain, ".")
	for _, part := range []string{email, local, domain, name} {
		if len([]rune(part)) < 4 {
			continue
		}
		if strings.Contains(pw, part) && utf8.RuneCountInString(pw)-utf8.RuneCountInString(part) <= 4 {
			return true
		}
		if levenshtein(pw, part) <= 2 {
			return true
		}
	}
	return false
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
