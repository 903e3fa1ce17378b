package simplesender

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a user may do beyond their own data.
type Role string

// The roles. Managers oversee all users (read-only on their data, block and
// unblock regular users); admins also assign roles.
const (
	RoleUser    Role = "user"
	RoleManager Role = "manager"
	RoleAdmin   Role = "admin"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleUser || r == RoleManager || r == RoleAdmin }

// IsStaff reports whether r is manager or admin.
func (r Role) IsStaff() bool { return r == RoleManager || r == RoleAdmin }

// Status is the state of an account, derived from its confirmation and block
// times: blocked wins over everything, then confirmed means active.
type Status string

// The account states.
const (
	StatusPending Status = "pending" // registered, address not confirmed yet
	StatusActive  Status = "active"  // confirmed and not blocked
	StatusBlocked Status = "blocked" // blocked by a manager or admin
)

// Languages the UI speaks.
var Languages = []string{"en", "ru"}

// User is an account.
type User struct {
	ID           int64
	Email        string // normalised: trimmed and lower-cased
	Name         string
	Phone        string
	Country      string
	Lang         string // "en" or "ru"; empty means "follow the browser"
	TimeZone     string // IANA name; empty means UTC
	Role         Role
	PasswordHash string
	// AuthVersion changes whenever every session and token of the user must
	// stop working (password change, block).
	AuthVersion int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ConfirmedAt *time.Time
	BlockedAt   *time.Time
	// AvatarVersion is 0 when the user has no profile picture; it changes
	// with every new one (it is part of the picture's URL).
	AvatarVersion int64
}

// Status derives the account state.
func (u *User) Status() Status {
	switch {
	case u.BlockedAt != nil:
		return StatusBlocked
	case u.ConfirmedAt != nil:
		return StatusActive
	default:
		return StatusPending
	}
}

// Location returns the user's time zone, UTC when unset or unknown.
func (u *User) Location() *time.Location {
	if u.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Profile is the part of a user that the user edits.
type Profile struct {
	Name     string
	Phone    string
	Country  string
	Lang     string
	TimeZone string
}

// Normalize trims the fields.
func (p *Profile) Normalize() {
	p.Name = strings.TrimSpace(p.Name)
	p.Phone = strings.TrimSpace(p.Phone)
	p.Country = strings.TrimSpace(p.Country)
	p.Lang = strings.TrimSpace(p.Lang)
	p.TimeZone = strings.TrimSpace(p.TimeZone)
}

// Validate checks a profile and returns per-field message keys (KindInvalid).
// The name is required when requireName is true.
func (p *Profile) Validate(requireName bool) error {
	f := FieldErrors{}
	if requireName && p.Name == "" {
		f.Add("name", "error.name.required")
	}
	if !PlainText(p.Name, 200) {
		f.Add("name", "error.name.invalid")
	}
	if p.Phone != "" && !validPhone(p.Phone) {
		f.Add("phone", "error.phone.invalid")
	}
	if !PlainText(p.Country, 100) {
		f.Add("country", "error.country.invalid")
	}
	if p.Lang != "" && p.Lang != "en" && p.Lang != "ru" {
		f.Add("lang", "error.lang.invalid")
	}
	if p.TimeZone != "" && !ValidTimeZone(p.TimeZone) {
		f.Add("timezone", "error.timezone.invalid")
	}
	return f.Err()
}

// ValidTimeZone reports whether name is an IANA time zone name that
// time.LoadLocation knows ("UTC" included). "Local" is not one: it would
// mean the server's zone.
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// PlainText reports whether s is valid UTF-8 of at most max characters with no
// control characters (no CR, LF, tab or NUL), so it is safe in a mail header.
func PlainText(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validPhone(s string) bool {
	if len(s) > 30 {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 5
}
