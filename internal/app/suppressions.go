package app

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/csvio"
	"simplesender/internal/mailer"
	"simplesender/internal/store"
)

// ServiceWide names the service-wide suppression list where a list of
// suppressions takes an owner.
const ServiceWide int64 = -1

// maxSuppressionNote is the longest note or removal reason, in characters.
const maxSuppressionNote = 500

const targetSuppression = "suppression"

// SuppressionQuery selects suppressions for ListSuppressions and
// ExportSuppressions.
type SuppressionQuery struct {
	// Owner narrows a manager's or admin's view: 0 everyone's and the
	// service-wide list, ServiceWide the service-wide list, a user's id
	// that user's. A regular user always sees their own.
	Owner  int64
	Query  string
	Reason simplesender.SuppressionReason
	Limit  int
	Offset int
}

// filter returns the store's filter for what ac may see of q. Errors:
// Unauthenticated.
func (q SuppressionQuery) filter(ac *Actor) (store.SuppressionFilter, error) {
	f := store.SuppressionFilter{Query: strings.TrimSpace(q.Query), Reason: q.Reason, Limit: q.Limit, Offset: q.Offset}
	if !f.Reason.Valid() {
		f.Reason = ""
	}
	switch scope := readScope(ac); {
	case scope < 0 && !ac.isSystem():
		return f, errUnauthenticated
	case scope > 0:
		f.Owner = scope
	case q.Owner == 0:
		f.Everyone = true
	case q.Owner == ServiceWide:
		f.Owner = 0
	default:
		f.Owner = q.Owner
	}
	return f, nil
}

// ListSuppressions returns a page of the suppressions the actor may see
// (its own; managers and admins everyone's and the service-wide list, as
// q.Owner narrows it), newest first, and how many q selects. Errors:
// Unauthenticated.
func (a *App) ListSuppressions(ctx context.Context, ac *Actor, q SuppressionQuery) ([]*simplesender.Suppression, int, error) {
	f, err := q.filter(ac)
	if err != nil {
		return nil, 0, err
	}
	return a.DB.Store().ListSuppressions(ctx, f)
}

// GetSuppression returns suppression id if the actor may see it: a
// regular user only their own (another user's, and a service-wide one, is
// NotFound). Errors: NotFound, Unauthenticated.
func (a *App) GetSuppression(ctx context.Context, ac *Actor, id int64) (*simplesender.Suppression, error) {
	if ac.anonymous() && !ac.isSystem() {
		return nil, errUnauthenticated
	}
	x, err := a.DB.Store().SuppressionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActView, x.OwnerID); err != nil {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	return x, nil
}

// SuppressionInput is an address to suppress by hand.
type SuppressionInput struct {
	Email  string
	Reason simplesender.SuppressionReason // "" is manual
	Note   string
	// Owner is whose list (admins only; 0: the actor's own). ServiceWide
	// puts it on the service-wide list (admins only).
	Owner       int64
	ServiceWide bool
}

// validNote checks a note or a removal reason: at most maxSuppressionNote
// characters, no control characters other than line breaks.
func validNote(s string) bool {
	if utf8.RuneCountInString(s) > maxSuppressionNote || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// suppressionOwner returns whose list in names (0: service-wide), and
// checks that the actor may add to it or remove from it: a user their own;
// an admin anyone's and the service-wide one; a manager nothing. Errors:
// Forbidden, NotFound, Unauthenticated.
func (a *App) suppressionOwner(ctx context.Context, ac *Actor, owner int64, serviceWide bool) (int64, error) {
	if ac.anonymous() && !ac.isSystem() {
		return 0, errUnauthenticated
	}
	switch {
	case serviceWide:
		owner = 0
	case owner == 0:
		owner = ac.id()
		if owner == 0 {
			return 0, simplesender.E(simplesender.KindNotFound, "error.not_found")
		}
	}
	if err := authorize(ac, ActEdit, owner); err != nil {
		return 0, err
	}
	if owner != 0 && owner != ac.id() {
		if _, err := a.DB.Store().UserByID(ctx, owner); err != nil {
			return 0, err
		}
	}
	return owner, nil
}

// AddSuppression suppresses an address by hand (see SuppressionInput); a
// second entry for the same address keeps the first, and created is false.
// Every addition by hand is written to the audit log. Errors: Invalid
// (address, reason or note), Forbidden (managers; anyone but an admin for
// the service-wide list), NotFound, Unauthenticated.
func (a *App) AddSuppression(ctx context.Context, ac *Actor, in SuppressionInput) (*simplesender.Suppression, bool, error) {
	owner, err := a.suppressionOwner(ctx, ac, in.Owner, in.ServiceWide)
	if err != nil {
		return nil, false, err
	}
	if in.Reason == "" {
		in.Reason = simplesender.ReasonManual
	}
	in.Note = strings.TrimSpace(in.Note)
	f := simplesender.FieldErrors{}
	email, perr := mailer.ParseAddress(strings.TrimSpace(in.Email))
	if perr != nil {
		f.Add("email", "error.email.invalid")
	}
	if !in.Reason.Valid() {
		f.Add("reason", "error.suppression.reason")
	}
	if !validNote(in.Note) {
		f.Add("note", "error.suppression.note")
	}
	if err := f.Err(); err != nil {
		return nil, false, err
	}
	var x *simplesender.Suppression
	var created bool
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		var err error
		if x, created, err = s.Suppress(ctx, owner, email, in.Reason, 0, ac.id(), in.Note); err != nil || !created {
			return err
		}
		return s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: owner, Action: "suppression.add",
			TargetType: targetSuppression, TargetID: x.ID, Detail: x.Email + " (" + string(x.Reason) + ")"})
	})
	return x, created, err
}

// SuppressAddress puts email on owner's suppression list (0: the
// service-wide one) for reason, from mailing (0: none), on behalf of no
// user: the recipient's unsubscribe, a bounce, a complaint. It is
// idempotent (the first record stays; created is false then) and takes
// effect for the next delivery claimed. Errors: Invalid (empty address,
// unknown reason).
func (a *App) SuppressAddress(ctx context.Context, owner int64, email string, reason simplesender.SuppressionReason,
	mailing int64, note string) (*simplesender.Suppression, bool, error) {
	return a.DB.Store().Suppress(ctx, owner, email, reason, mailing, 0, note)
}

// IsSuppressed returns the entry that stops mail from owner to email (its
// own list first, then the service-wide one), or nil.
func (a *App) IsSuppressed(ctx context.Context, owner int64, email string) (*simplesender.Suppression, error) {
	return a.DB.Store().IsSuppressed(ctx, owner, email)
}

// RemoveSuppression takes suppression id off its list, for a reason that
// the audit log keeps with who removed it. A user removes their own; an
// admin anyone's and the service-wide ones; a manager nothing. Errors:
// Invalid (no reason, or a bad one), NotFound (also another user's for a
// regular user), Forbidden (managers), Unauthenticated.
func (a *App) RemoveSuppression(ctx context.Context, ac *Actor, id int64, reason string) (*simplesender.Suppression, error) {
	x, err := a.GetSuppression(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActDelete, x.OwnerID); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, simplesender.Invalid(map[string]string{"reason": "error.suppression.removal_reason"})
	case !validNote(reason):
		return nil, simplesender.Invalid(map[string]string{"reason": "error.suppression.note"})
	}
	return x, a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteSuppression(ctx, id); err != nil {
			return err
		}
		return s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: x.OwnerID, Action: "suppression.remove",
			TargetType: targetSuppression, TargetID: id, Detail: x.Email + " (" + string(x.Reason) + "): " + reason})
	})
}

// SuppressionAudit returns the newest audit events about suppressions of
// the list the actor may see (its own; for staff owner's, or the
// service-wide one with ServiceWide), at most limit.
func (a *App) SuppressionAudit(ctx context.Context, ac *Actor, owner int64, limit int) ([]*simplesender.AuditEvent, error) {
	f, err := SuppressionQuery{Owner: owner}.filter(ac)
	if err != nil {
		return nil, err
	}
	if f.Everyone {
		return a.DB.Store().SuppressionAuditAll(ctx, limit)
	}
	return a.DB.Store().SuppressionAudit(ctx, f.Owner, limit)
}

// SuppressionImport is the outcome of ImportSuppressions.
type SuppressionImport struct {
	Rows    int              `json:"rows"`    // rows in the file
	Added   int              `json:"added"`   // addresses newly suppressed
	Already int              `json:"already"` // addresses the list had: kept as they were
	Invalid int              `json:"invalid"` // rows without a valid address: skipped
	Errors  []ImportRowError `json:"errors"`  // the first MaxImportErrors of them
}

// MaxSuppressionImportRows bounds a suppression import.
const MaxSuppressionImportRows = 100_000

// ImportSuppressions adds the addresses of a CSV file (the e-mail column,
// found like a recipient import's; a note or comment column becomes the
// note) to a suppression list as in.Owner and in.ServiceWide name it, all
// with in.Reason (manual when empty) and in.Note for rows without a note.
// Addresses already suppressed keep their first record; rows without a
// valid address are skipped and reported. It writes in batches, one
// transaction each, and audits the import as one event. Errors: Invalid
// (a file that is not CSV, with the csvio key; over
// MaxSuppressionImportRows rows: nothing written), as AddSuppression.
func (a *App) ImportSuppressions(ctx context.Context, ac *Actor, in SuppressionInput, src io.Reader) (*SuppressionImport, error) {
	owner, err := a.suppressionOwner(ctx, ac, in.Owner, in.ServiceWide)
	if err != nil {
		return nil, err
	}
	if in.Reason == "" {
		in.Reason = simplesender.ReasonManual
	}
	if !in.Reason.Valid() {
		return nil, simplesender.Invalid(map[string]string{"reason": "error.suppression.reason"})
	}
	in.Note = strings.TrimSpace(in.Note)
	if !validNote(in.Note) {
		return nil, simplesender.Invalid(map[string]string{"note": "error.suppression.note"})
	}
	rd, err := csvio.NewReader(src, csvio.Options{})
	if err != nil {
		return nil, fileError(err)
	}
	type row struct{ email, note string }
	var rows []row
	res := &SuppressionImport{}
	for rec, err := range rd.All() {
		if err != nil {
			return nil, fileError(err)
		}
		res.Rows++
		if res.Rows > MaxSuppressionImportRows {
			return nil, simplesender.E(simplesender.KindInvalid, "error.suppression.too_many_rows")
		}
		email, perr := mailer.ParseAddress(strings.TrimSpace(rec.Email))
		note := strings.TrimSpace(rec.Comment)
		if note == "" {
			note = in.Note
		}
		if perr != nil || !validNote(note) {
			res.Invalid++
			field, key := "email", "error.email.invalid"
			if perr == nil {
				field, key = "note", "error.suppression.note"
			}
			if len(res.Errors) < MaxImportErrors {
				res.Errors = append(res.Errors, ImportRowError{Line: rec.Line, Email: shorten(rec.Email), Fields: map[string]string{field: key}})
			}
			continue
		}
		rows = append(rows, row{email, note})
	}
	if res.Rows == 0 {
		return nil, simplesender.E(simplesender.KindInvalid, "error.csv.no_rows")
	}
	for len(rows) > 0 {
		batch := rows[:min(len(rows), ImportBatch)]
		rows = rows[len(batch):]
		var added, already int
		err := a.DB.InTx(ctx, func(s *store.Store) error {
			added, already = 0, 0
			for _, r := range batch {
				_, created, err := s.Suppress(ctx, owner, r.email, in.Reason, 0, ac.id(), r.note)
				if err != nil {
					return err
				}
				if created {
					added++
				} else {
					already++
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Added += added
		res.Already += already
	}
	err = a.DB.Store().AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: owner, Action: "suppression.import",
		TargetType: targetSuppression, Detail: strconv.Itoa(res.Added) + " added, " + strconv.Itoa(res.Already) + " already, " +
			strconv.Itoa(res.Invalid) + " invalid (" + string(in.Reason) + ")"})
	return res, err
}

// SuppressionExportColumns is the header of a suppression export; an
// import reads its email and note columns back.
func SuppressionExportColumns() []string {
	return []string{"email", "reason", "note", "owner", "mailing_id", "created_at", "created_by"}
}

// ExportSuppressions writes the suppressions the actor may see, as q
// selects them (its Limit and Offset ignored), to w as CSV, oldest first,
// and returns how many. The owner column is empty for service-wide
// entries. Cells a spreadsheet would run as a formula are neutralised.
// Errors: Unauthenticated, and w's.
func (a *App) ExportSuppressions(ctx context.Context, ac *Actor, q SuppressionQuery, w io.Writer, o ExportOptions) (int, error) {
	f, err := q.filter(ac)
	if err != nil {
		return 0, err
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{BOM: o.BOM, Separator: o.Separator})
	if err := cw.Write(SuppressionExportColumns()...); err != nil {
		return 0, err
	}
	n := 0
	err = a.DB.Store().EachSuppression(ctx, f, func(x *simplesender.Suppression) error {
		mailing := ""
		if x.MailingID != 0 {
			mailing = strconv.FormatInt(x.MailingID, 10)
		}
		n++
		return cw.Write(x.Email, string(x.Reason), x.Note, x.OwnerEmail, mailing, x.CreatedAt.UTC().Format(time.RFC3339), x.CreatedByEmail)
	})
	if err != nil {
		return n, err
	}
	return n, cw.Flush()
}

// SuppressedReasons counts the suppressed deliveries of m's last run by
// reason; m is a mailing the caller has read (GetMailing). It reads
// nothing when the run has none.
func (a *App) SuppressedReasons(ctx context.Context, m *simplesender.Mailing) (map[simplesender.SuppressionReason]int, error) {
	if m.Counts.Suppressed == 0 {
		return nil, nil
	}
	return a.DB.Store().SuppressedReasons(ctx, m.ID)
}

// ReportSuppressedReasons counts the suppressed deliveries of the report's
// mailings (every run, as of now) by reason; rep is a report the caller
// has read (Report). It reads nothing when there are none.
func (a *App) ReportSuppressedReasons(ctx context.Context, rep *Report) (map[simplesender.SuppressionReason]int, error) {
	if rep.Totals.Suppressed == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rep.Mailings))
	for i, m := range rep.Mailings {
		ids[i] = m.ID
	}
	by, err := a.DB.Store().SuppressedReasonsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[simplesender.SuppressionReason]int{}
	for _, m := range by {
		for r, n := range m {
			out[r] += n
		}
	}
	return out, nil
}
