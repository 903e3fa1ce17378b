package simplesender

import (
	"strings"
	"time"
)

// SuppressionReason is why an address must not be mailed.
type SuppressionReason string

// The suppression reasons.
const (
	ReasonUnsubscribed SuppressionReason = "unsubscribed" // the recipient unsubscribed
	ReasonBounced      SuppressionReason = "bounced"      // the address bounced for good
	ReasonComplained   SuppressionReason = "complained"   // the recipient reported a message as spam
	ReasonManual       SuppressionReason = "manual"       // added by hand
)

// SuppressionReasons lists every reason, in the order the UI and the API
// show them.
var SuppressionReasons = []SuppressionReason{ReasonUnsubscribed, ReasonBounced, ReasonComplained, ReasonManual}

// Valid reports whether r is a known reason.
func (r SuppressionReason) Valid() bool {
	for _, k := range SuppressionReasons {
		if k == r {
			return true
		}
	}
	return false
}

// Suppression is an address that must not be mailed: for one owner, or
// service-wide (OwnerID 0, added by an admin). A delivery to it is claimed
// and ends as DeliverySuppressed with no attempt.
type Suppression struct {
	ID        int64
	OwnerID   int64 // 0: service-wide
	Email     string
	Reason    SuppressionReason
	Note      string
	MailingID int64 // the mailing it came from, 0 when none
	CreatedAt time.Time
	CreatedBy int64 // the user who added it, 0 for the recipient or the system

	OwnerEmail     string // read with the list: the owner's address, "" when service-wide
	CreatedByEmail string // read with the list: who added it, "" when nobody or gone
}

// NormalizeEmail is the form in which suppressions are kept and compared:
// trimmed and lower-cased.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// SuppressedPrefix starts the last response of a suppressed delivery,
// followed by the reason.
const SuppressedPrefix = "suppressed: "
