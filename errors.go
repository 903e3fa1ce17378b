// Package simplesender is the domain of the simplesender mailing service: users,
// roles, their states and the rules that hold for them, and the error type every
// layer uses. It depends on the standard library only.
package simplesender

import (
	"errors"
	"fmt"
)

// Kind classifies an Error. Each kind maps to one HTTP status at the edge.
type Kind uint8

// The error kinds.
const (
	KindInternal        Kind = iota // unexpected; logged with its cause, shown as a generic message
	KindInvalid                     // input failed validation; Fields says which
	KindBadRequest                  // malformed request (not JSON, wrong shape)
	KindNotFound                    // no such object, or another user's object
	KindConflict                    // uniqueness or state conflict
	KindUnauthenticated             // not logged in, or bad credentials
	KindForbidden                   // logged in but not allowed
	KindRateLimited                 // too many attempts; RetryAfter says when to come back
	KindTooLarge                    // request body too large
	KindUnavailable                 // a service we depend on is down or saturated; try again later
)

var kindNames = [...]string{
	KindInternal:        "internal",
	KindInvalid:         "invalid",
	KindBadRequest:      "bad_request",
	KindNotFound:        "not_found",
	KindConflict:        "conflict",
	KindUnauthenticated: "unauthenticated",
	KindForbidden:       "forbidden",
	KindRateLimited:     "rate_limited",
	KindTooLarge:        "too_large",
	KindUnavailable:     "unavailable",
}

// String returns the kind's API code, such as "not_found".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is the one error type of the domain. Message and Fields hold message
// keys (see internal/i18n) or plain text safe to show a user; Cause is the
// wrapped underlying error, never shown.
type Error struct {
	Kind    Kind
	Message string            // message key or text safe to show; empty means the kind's default
	Fields  map[string]string // per-field message keys, for KindInvalid
	// FieldArgs holds, per field, the arguments of its message key (name,
	// value pairs, as i18n's T takes them), such as the placeholder a
	// message's text got wrong and where.
	FieldArgs map[string][]any
	// RetryAfterSeconds is set for KindRateLimited, and may be for
	// KindUnavailable.
	RetryAfterSeconds int
	Cause             error
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Kind.String()
	}
	if len(e.Fields) > 0 {
		msg = fmt.Sprintf("%s %v", msg, e.Fields)
	}
	if e.Cause != nil {
		return msg + ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// E builds an Error of kind k with a message key.
func E(k Kind, message string) *Error { return &Error{Kind: k, Message: message} }

// Errorf builds an internal error that wraps cause with context.
func Errorf(format string, args ...any) error {
	return &Error{Kind: KindInternal, Cause: fmt.Errorf(format, args...)}
}

// Invalid builds a KindInvalid error with per-field message keys.
func Invalid(fields map[string]string) *Error {
	return &Error{Kind: KindInvalid, Message: "error.invalid", Fields: fields}
}

// ErrorKind returns the kind of err: the Kind of the first *Error in its chain,
// or KindInternal for any other non-nil error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// AsError returns the first *Error in err's chain, or an internal Error wrapping err.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Cause: err}
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && ErrorKind(err) == k }

// FieldErrors collects per-field validation messages.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when there are no field errors, or an Invalid error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f)
}

// HTTPStatus is the one mapping of kinds to HTTP status codes, used by the
// web UI and the JSON API alike.
func (k Kind) HTTPStatus() int {
	switch k {
	case KindInvalid:
		return 422
	case KindBadRequest:
		return 400
	case KindNotFound:
		return 404
	case KindConflict:
		return 409
	case KindUnauthenticated:
		return 401
	case KindForbidden:
		return 403
	case KindRateLimited:
		return 429
	case KindTooLarge:
		return 413
	case KindUnavailable:
		return 503
	}
	return 500
}
