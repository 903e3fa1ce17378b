package simplesender

import "time"

// Session is a server-side login session. The browser holds a random id;
// only its hash (IDHash) is stored.
type Session struct {
	IDHash      string
	UserID      int64
	AuthVersion int64 // the user's AuthVersion at login; a mismatch ends the session
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time // absolute end
	IP          string
	UserAgent   string
}

// AuditEvent records who did what to which object, for oversight.
type AuditEvent struct {
	ID         int64
	ActorID    int64
	ActorEmail string
	// OwnerID is whose object it was, when an admin acted on another user's
	// recipient, message or mailing; 0 otherwise.
	OwnerID    int64
	Action     string // e.g. "user.block", "user.unblock", "user.role"; "mailing." and the action for mailings
	TargetType string // e.g. "user", "mailing"
	TargetID   int64
	Detail     string
	CreatedAt  time.Time
}

// AdminChange is the last change an admin made to another user's recipient,
// message or mailing (edit, send, schedule, cancel), shown to its owner.
type AdminChange struct {
	AdminID    int64  // 0 when the admin's account is gone
	AdminEmail string // "" when the admin's account is gone
	At         time.Time
}
