package simplesender

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Recipient is an address a user sends to. Email is unique per owner,
// compared case-insensitively.
type Recipient struct {
	ID         int64
	OwnerID    int64
	Email      string
	LastName   string
	FirstName  string
	MiddleName string
	Comment    string
	// Tags are the recipient's tags, sorted, when the reader loaded them.
	Tags []string
	// Fields are the recipient's custom field values by key, in their
	// stored form (see CanonicalValue), when the reader loaded them. On a
	// change, nil leaves the values as they are; an empty value removes one.
	Fields    map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FullName joins the names in the usual Russian order: last, first, middle.
// It is the {{full_name}} of messages and the name in the To header; pages
// use PersonName, in the order of the page's language.
func (r *Recipient) FullName() string {
	return PersonName("ru", r.LastName, r.FirstName, r.MiddleName)
}

// PersonName joins a person's names in the order of language lang: Russian
// puts the last name first ("Петров Иван Сергеевич"), other languages last
// ("Ivan Sergeevich Petrov"). Empty names are skipped.
func PersonName(lang, last, first, middle string) string {
	if lang == "ru" {
		return strings.Join(strings.Fields(last+" "+first+" "+middle), " ")
	}
	return strings.Join(strings.Fields(first+" "+middle+" "+last), " ")
}

// Normalize trims the fields.
func (r *Recipient) Normalize() {
	r.Email = strings.TrimSpace(r.Email)
	r.LastName = strings.TrimSpace(r.LastName)
	r.FirstName = strings.TrimSpace(r.FirstName)
	r.MiddleName = strings.TrimSpace(r.MiddleName)
	r.Comment = strings.TrimSpace(r.Comment)
}

// ValidateNames checks the name and comment fields (the address is checked
// by the mailer's parser). Errors: KindInvalid with per-field keys.
func (r *Recipient) ValidateNames(f FieldErrors) {
	for field, v := range map[string]string{"last_name": r.LastName, "first_name": r.FirstName, "middle_name": r.MiddleName} {
		if !PlainText(v, 100) {
			f.Add(field, "error.recipient.name")
		}
	}
	if !utf8.ValidString(r.Comment) || utf8.RuneCountInString(r.Comment) > 2000 {
		f.Add("comment", "error.recipient.comment")
	}
}

// Message is the content of a mailing: a subject and a plain-text body, with
// an optional HTML body. They may hold placeholders for the recipient's
// fields (see package internal/render).
//
// Format says what the author writes: FormatText, the text and an optional
// HTML version; FormatHTML, the HTML, from which the text is generated;
// FormatMarkdown, BodyMarkdown, from which both are generated. BodyText and
// BodyHTML are always what is sent.
type Message struct {
	ID           int64
	OwnerID      int64
	Subject      string
	Format       MessageFormat
	BodyText     string
	BodyHTML     string
	BodyMarkdown string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MessageFormat is how a message's author writes its body.
type MessageFormat string

// The message formats.
const (
	FormatText     MessageFormat = "text"
	FormatHTML     MessageFormat = "html"
	FormatMarkdown MessageFormat = "markdown"
)

// MessageFormats lists the formats, in the order forms offer them.
var MessageFormats = []MessageFormat{FormatText, FormatHTML, FormatMarkdown}

// Valid reports whether f is one of MessageFormats.
func (f MessageFormat) Valid() bool {
	return f == FormatText || f == FormatHTML || f == FormatMarkdown
}

// Limits on a message's size.
const (
	MaxSubjectLen = 300        // characters
	MaxBodyBytes  = 512 * 1024 // each body
)

// MailingStatus is the state of a mailing as its owner sees it.
type MailingStatus string

// The mailing states: created = never started; running = scheduled or
// sending; finished = the last send run is complete.
const (
	MailingCreated  MailingStatus = "created"
	MailingRunning  MailingStatus = "running"
	MailingFinished MailingStatus = "finished"
)

// Mailing is a message to a set of the owner's recipients.
type Mailing struct {
	ID          int64
	OwnerID     int64
	OwnerEmail  string
	Name        string
	MessageID   int64
	Subject     string // the message's subject, as the lists show it
	Status      MailingStatus
	ScheduledAt *time.Time // a pending one-time send
	StartedAt   *time.Time // start of the last run
	FinishedAt  *time.Time // end of the last run
	DisabledAt  *time.Time // switched off by a manager
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// RecipientCount is the size of the audience.
	RecipientCount int
	// Counts are the deliveries of the last run by state.
	Counts DeliveryCounts
	// LateBy is how late the last run started after its planned time.
	LateBy time.Duration
	// StartNote says why the last pending start did not happen when it
	// came due (StartRefusedSender), "" when it did or none was refused.
	StartNote string
}

// StartRefusedSender notes a start refused when it came due because the
// mailing's sender address could no longer be used (its domain forbidden,
// or no longer verified or allowed).
const StartRefusedSender = "sender"

// Disabled reports whether a manager switched the mailing off.
func (m *Mailing) Disabled() bool { return m.DisabledAt != nil }

// DeliveryCounts counts a run's deliveries by state, as the owner sees them
// (see DeliveryStates for the counter each state moves).
type DeliveryCounts struct {
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Pending    int `json:"pending"` // pending, sending and deferred (will be tried)
	Unknown    int `json:"unknown"`
	Cancelled  int `json:"cancelled"`
	Suppressed int `json:"suppressed"`
	Bounced    int `json:"bounced"`
	Complained int `json:"complained"`
}

// Total is the number of deliveries.
func (c DeliveryCounts) Total() int { return c.Pending + c.Done() }

// Done is the number of deliveries in a final state.
func (c DeliveryCounts) Done() int {
	n := 0
	for _, k := range FinalCounters {
		n += c.Of(k)
	}
	return n
}

// DeliveryStatus is the state of one recipient's delivery in one run.
type DeliveryStatus string

// The delivery states the engine sets (docs/lifecycle.md): pending ->
// sending -> sent | deferred | failed | unknown; and cancelled. See
// DeliveryStates and Transitions for all of them and the moves between them.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySending   DeliveryStatus = "sending"
	DeliverySent      DeliveryStatus = "sent"
	DeliveryDeferred  DeliveryStatus = "deferred"
	DeliveryFailed    DeliveryStatus = "failed"
	DeliveryUnknown   DeliveryStatus = "unknown"
	DeliveryCancelled DeliveryStatus = "cancelled"
)

// Run is one send of a mailing: its audience and message as they were when
// it started.
type Run struct {
	ID          int64
	MailingID   int64
	OwnerID     int64
	Number      int // 1 for the first run of the mailing, 2 for the next, ...
	Kind        RunKind
	Trigger     Trigger
	ScheduledAt *time.Time
	StartedAt   time.Time
	FinishedAt  *time.Time
	Cancelled   bool
	Subject     string
	BodyText    string
	BodyHTML    string
	// FromName, FromEmail and ReplyTo are the sender identity the run was
	// started with; FromEmail "" means the service's own address.
	FromName  string
	FromEmail string
	ReplyTo   string
	Counts    DeliveryCounts
}

// Delivery is one recipient of one run.
type Delivery struct {
	ID            int64
	RunID         int64
	RecipientID   int64
	Email         string
	LastName      string
	FirstName     string
	MiddleName    string
	Status        DeliveryStatus
	Attempts      int
	NextAttemptAt *time.Time
	LastCode      int
	LastEnhanced  string
	LastResponse  string
	MessageID     string
	SentAt        *time.Time
	UpdatedAt     time.Time
}

// Attempt is one try to hand a delivery to the mail server.
type Attempt struct {
	ID          int64
	DeliveryID  int64
	RunID       int64
	Email       string
	AttemptedAt time.Time
	Success     bool
	Code        int
	Enhanced    string
	Response    string
}
