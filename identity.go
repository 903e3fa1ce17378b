package simplesender

import (
	"strings"
	"time"
)

// Identity is a sender identity of a user: the From name and address a
// mailing goes out with, and an optional Reply-To. One of a user's
// identities may be the default, used by mailings that name none.
type Identity struct {
	ID         int64
	OwnerID    int64
	OwnerEmail string // for lists of everyone's identities
	Name       string
	Email      string
	ReplyTo    string
	Default    bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Domain returns the domain of the identity's address, in lower case.
func (i *Identity) Domain() string { return DomainOf(i.Email) }

// DomainOf returns the domain part of an e-mail address in lower case ("" when
// there is no @).
func DomainOf(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(email[at+1:])
}

// SenderDomain is a domain a user claims to send from. It is verified when
// the user published the verification token the service gave them in DNS
// and the service found it there.
type SenderDomain struct {
	ID         int64
	OwnerID    int64
	OwnerEmail string
	Domain     string
	VerifiedAt *time.Time
	CreatedAt  time.Time
	Keys       []*DKIMKey // its DKIM keys, oldest first
}

// Verified reports whether the owner proved the domain is theirs.
func (d *SenderDomain) Verified() bool { return d.VerifiedAt != nil }

// DKIM key states: a key is published first (next), then signs (active),
// then stops signing but keeps its record until removed (retired).
const (
	KeyNext    = "next"
	KeyActive  = "active"
	KeyRetired = "retired"
)

// DKIM key algorithms.
const (
	KeyRSA     = "rsa"
	KeyEd25519 = "ed25519"
)

// DKIMKey is one DKIM key of a domain. PrivateKey is sealed (encrypted with
// a key derived from the service secret); PublicKey is the base64 value of
// the p= tag of its DNS record.
type DKIMKey struct {
	ID         int64
	DomainID   int64
	Selector   string
	Algorithm  string
	PrivateKey string
	PublicKey  string
	State      string
	CreatedAt  time.Time
}

// DomainRule is an admin's decision on a domain for everyone: allowed
// (anyone may send from it without verifying it) or forbidden (nobody may,
// verified or not).
type DomainRule struct {
	Domain    string
	Allowed   bool
	ChangedBy string // the admin's e-mail address; "" when unknown
	ChangedAt time.Time
}
