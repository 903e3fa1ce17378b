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
	Action     string // e.g. "user.block", "user.unblock", "user.role"
	TargetType string // e.g. "user"
	TargetID   int64
	Detail     string
	CreatedAt  time.Time
}
