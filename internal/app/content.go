package app

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"simplesender"
	"simplesender/internal/content"
	"simplesender/internal/mailer"
	"simplesender/internal/render"
	"simplesender/internal/store"
)

// readScope is the owner filter for reads, the form of authorize(ActView)
// that a query takes: the actor's own data, or everyone's (0) for managers
// and admins.
func readScope(ac *Actor) int64 {
	switch {
	case ac.role().IsStaff():
		return 0
	case ac.anonymous():
		return -1 // matches no owner: an anonymous caller reads nothing
	}
	return ac.id()
}

// listFor lists, with list, what ac may see of owner's objects: its own,
// or for staff everyone's (owner narrows it to one user). Errors:
// Unauthenticated.
func listFor[T, F any](ctx context.Context, ac *Actor, owner int64, f F, list func(context.Context, int64, F) ([]T, int, error)) ([]T, int, error) {
	if ac.anonymous() {
		return nil, 0, errUnauthenticated
	}
	scope := readScope(ac)
	if scope == 0 {
		scope = owner
	}
	return list(ctx, scope, f)
}

// getFor reads, with get, object id if ac may see it. Errors:
// Unauthenticated, NotFound.
func getFor[T any](ctx context.Context, ac *Actor, id int64, get func(context.Context, int64, int64) (T, error)) (T, error) {
	if ac.anonymous() {
		var zero T
		return zero, errUnauthenticated
	}
	return get(ctx, readScope(ac), id)
}

// ---- recipients

// ListRecipients returns a page of recipients: the actor's own, or for
// managers everyone's (owner narrows it to one user).
//
// f.ListID and f.SegmentID must name a list and a segment the actor may
// see (NotFound otherwise); f.Tag is normalized. The recipients come with their tags.
func (a *App) ListRecipients(ctx context.Context, ac *Actor, owner int64, f store.ListFilter) ([]*simplesender.Recipient, int, error) {
	if f.ListID != 0 {
		if _, err := a.GetList(ctx, ac, f.ListID); err != nil {
			return nil, 0, err
		}
	}
	if f.Tag != "" {
		f.Tag, _ = simplesender.NormalizeTag(f.Tag)
	}
	if f.SegmentID != 0 {
		g, err := a.GetSegment(ctx, ac, f.SegmentID)
		if err != nil {
			return nil, 0, err
		}
		// The segment speaks of its owner's recipients only (staff see
		// anyone's segment; a user only their own).
		f.Segment, owner = &g.Definition, g.OwnerID
	}
	out, n, err := listFor(ctx, ac, owner, f, a.DB.Store().ListRecipients)
	if err != nil {
		return nil, 0, err
	}
	if err := a.DB.Store().LoadTags(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, n, a.loadValues(ctx, out)
}

// GetRecipient returns a recipient the actor may see, with its tags and
// custom field values.
// Errors: NotFound.
func (a *App) GetRecipient(ctx context.Context, ac *Actor, id int64) (*simplesender.Recipient, error) {
	r, err := getFor(ctx, ac, id, a.DB.Store().RecipientByID)
	if err != nil {
		return nil, err
	}
	if err := a.DB.Store().LoadTags(ctx, []*simplesender.Recipient{r}); err != nil {
		return nil, err
	}
	return r, a.loadValues(ctx, []*simplesender.Recipient{r})
}

func validateRecipient(r *simplesender.Recipient) error {
	r.Normalize()
	f := simplesender.FieldErrors{}
	email, err := mailer.ParseAddress(r.Email)
	if err != nil {
		f.Add("email", simplesender.AsError(err).Message) // invalid, or a local part that needs SMTPUTF8
	} else {
		r.Email = email
	}
	r.ValidateNames(f)
	if r.Tags != nil {
		tags := make([]string, 0, len(r.Tags))
		for _, t := range r.Tags {
			n, ok := simplesender.NormalizeTag(t)
			if !ok {
				f.Add("tags", "error.tag.invalid")
			} else if !slices.Contains(tags, n) {
				tags = append(tags, n)
			}
		}
		slices.Sort(tags)
		r.Tags = tags
	}
	return f.Err()
}

func conflictEmail(err error) error {
	if simplesender.IsKind(err, simplesender.KindConflict) {
		return simplesender.Invalid(map[string]string{"email": "error.recipient.exists"})
	}
	return err
}

// CreateRecipient adds a recipient for the actor, with r.Tags and the
// custom field values r.Fields (by key; see simplesender.CanonicalValue).
// Errors: Invalid (also for an address the actor already has, and per
// value under "fields.KEY"), Forbidden (managers).
func (a *App) CreateRecipient(ctx context.Context, ac *Actor, r *simplesender.Recipient) error {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return err
	}
	set, _, err := a.checkRecipient(ctx, ac.id(), r)
	if err != nil {
		return err
	}
	r.OwnerID = ac.id()
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := conflictEmail(s.CreateRecipient(ctx, r)); err != nil {
			return err
		}
		if len(set) > 0 {
			if err := s.SetRecipientValues(ctx, r.OwnerID, r.ID, set, nil); err != nil {
				return err
			}
		}
		if r.Tags == nil {
			return nil
		}
		return s.SetRecipientTags(ctx, r.OwnerID, r.ID, r.Tags)
	})
}

// UpdateRecipient saves recipient r (and its tags unless r.Tags is nil; the
// custom field values named in r.Fields, an empty one removed, the others
// kept): the actor's, or for admins anyone's (recorded, see authorize).
// Nothing is saved when anything is invalid. Errors: Invalid, NotFound,
// Forbidden (managers).
func (a *App) UpdateRecipient(ctx context.Context, ac *Actor, r *simplesender.Recipient) error {
	cur, err := a.GetRecipient(ctx, ac, r.ID)
	if err != nil {
		return err
	}
	if err := authorize(ac, ActEdit, cur.OwnerID); err != nil {
		return err
	}
	set, remove, err := a.checkRecipient(ctx, cur.OwnerID, r)
	if err != nil {
		return err
	}
	r.OwnerID = cur.OwnerID
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := conflictEmail(s.UpdateRecipient(ctx, cur.OwnerID, r)); err != nil {
			return err
		}
		if len(set) > 0 || len(remove) > 0 {
			if err := s.SetRecipientValues(ctx, cur.OwnerID, r.ID, set, remove); err != nil {
				return err
			}
		}
		if r.Tags != nil { // nil: the caller did not send tags, they stay
			if err := s.SetRecipientTags(ctx, cur.OwnerID, r.ID, r.Tags); err != nil {
				return err
			}
		}
		return recordOnBehalf(ctx, s, ac, cur.OwnerID, targetRecipient, r.ID, "update")
	})
}

// DeleteRecipient removes a recipient, as UpdateRecipient. The recipient leaves the
// audience of the owner's mailings; the delivery history keeps its own copy
// of the address and names, so no history is lost.
func (a *App) DeleteRecipient(ctx context.Context, ac *Actor, id int64) error {
	cur, err := a.GetRecipient(ctx, ac, id)
	if err != nil {
		return err
	}
	if err := authorize(ac, ActDelete, cur.OwnerID); err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteRecipient(ctx, cur.OwnerID, id); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, cur.OwnerID, targetRecipient, id, "delete")
	})
}

// ---- messages

// ListMessages returns a page of messages, like ListRecipients.
func (a *App) ListMessages(ctx context.Context, ac *Actor, owner int64, f store.ListFilter) ([]*simplesender.Message, int, error) {
	return listFor(ctx, ac, owner, f, a.DB.Store().ListMessages)
}

// GetMessage returns a message the actor may see. Errors: NotFound.
func (a *App) GetMessage(ctx context.Context, ac *Actor, id int64) (*simplesender.Message, error) {
	return getFor(ctx, ac, id, a.DB.Store().MessageByID)
}

// ValidateMessage checks a message and makes the bodies that are sent: a
// one-line subject, the body its format needs (FormatText: the text, with an
// optional HTML version; FormatHTML: the HTML; FormatMarkdown: the
// Markdown), sizes, placeholders that parse, and HTML that passes
// content.CheckHTML (the error names the problem and its line). For an HTML
// message the text is generated from the HTML; for a Markdown message the
// HTML and the text are generated from the Markdown: what was in the
// generated fields is replaced. An empty Format is FormatText. Errors:
// Invalid, with per-field keys and arguments.
func ValidateMessage(m *simplesender.Message) error { return validateMessage(m, nil) }

// validateMessage is ValidateMessage that also accepts the placeholders of
// the custom field keys custom accepts.
func validateMessage(m *simplesender.Message, custom func(string) bool) error {
	m.Subject = strings.TrimSpace(m.Subject)
	m.BodyText = strings.ReplaceAll(m.BodyText, "\r\n", "\n")
	m.BodyHTML = strings.TrimSpace(strings.ReplaceAll(m.BodyHTML, "\r\n", "\n"))
	m.BodyMarkdown = strings.ReplaceAll(m.BodyMarkdown, "\r\n", "\n")
	if m.Format == "" {
		m.Format = simplesender.FormatText
	}
	f := simplesender.FieldErrors{}
	switch {
	case m.Subject == "":
		f.Add("subject", "error.message.subject_required")
	case !simplesender.PlainText(m.Subject, simplesender.MaxSubjectLen):
		f.Add("subject", "error.message.subject_invalid")
	}
	source := "body_text" // the field the author writes
	switch m.Format {
	case simplesender.FormatText:
		checkBody(f, "body_text", m.BodyText, true)
		checkBody(f, "body_html", m.BodyHTML, false)
	case simplesender.FormatHTML:
		source = "body_html"
		checkBody(f, "body_html", m.BodyHTML, true)
	case simplesender.FormatMarkdown:
		source = "body_markdown"
		checkBody(f, "body_markdown", m.BodyMarkdown, true)
	default:
		f.Add("format", "error.message.format")
	}
	if len(f) > 0 {
		return f.Err()
	}
	return makeBodies(m, source, custom)
}

// makeBodies generates what m's format generates (the HTML of Markdown, the
// text of HTML), checks the HTML and parses the placeholders of what is
// sent; errors name source, the body the author wrote.
func makeBodies(m *simplesender.Message, source string, custom func(string) bool) error {
	if m.Format == simplesender.FormatMarkdown {
		// Placeholders are checked in the Markdown, so that an error's line
		// is the author's.
		if _, err := render.ParseMessageWith(m.Subject, m.BodyMarkdown, "", custom); err != nil {
			return renameField(err, "body_text", "body_markdown")
		}
		m.BodyHTML = strings.TrimSpace(content.Markdown(m.BodyMarkdown))
		if len(m.BodyHTML) > simplesender.MaxBodyBytes {
			return simplesender.Invalid(map[string]string{"body_markdown": "error.message.too_large"})
		}
	}
	if m.BodyHTML != "" {
		if p := content.CheckHTML(m.BodyHTML); p != nil {
			field := "body_html"
			if m.Format == simplesender.FormatMarkdown {
				field = "body_markdown" // cannot happen: Markdown makes safe HTML
			}
			e := simplesender.Invalid(map[string]string{field: p.Key})
			e.FieldArgs = map[string][]any{field: p.Args()}
			return e
		}
	}
	if m.Format != simplesender.FormatText {
		if _, err := render.ParseMessageWith(m.Subject, "", m.BodyHTML, custom); err != nil {
			return renameField(err, "body_html", source)
		}
		m.BodyText = content.Text(m.BodyHTML)
		if len(m.BodyText) > simplesender.MaxBodyBytes {
			return simplesender.Invalid(map[string]string{source: "error.message.too_large"})
		}
	}
	if m.Format != simplesender.FormatMarkdown {
		m.BodyMarkdown = ""
	}
	if _, err := render.ParseMessageWith(m.Subject, m.BodyText, m.BodyHTML, custom); err != nil {
		return err
	}
	return nil
}

// checkBody adds field's error when body is required and blank, too large
// or not UTF-8.
func checkBody(f simplesender.FieldErrors, field, body string, required bool) {
	switch {
	case required && strings.TrimSpace(body) == "":
		f.Add(field, "error.message.body_required")
	case len(body) > simplesender.MaxBodyBytes || !utf8.ValidString(body):
		f.Add(field, "error.message.too_large")
	}
}

// renameField reports a field's error of a Invalid error under another
// field's name: a placeholder error of a generated body belongs to the body
// the author wrote.
func renameField(err error, from, to string) error {
	e := simplesender.AsError(err)
	if e == nil || from == to {
		return err
	}
	if k, ok := e.Fields[from]; ok {
		delete(e.Fields, from)
		e.Fields[to] = k
		if a, ok := e.FieldArgs[from]; ok {
			delete(e.FieldArgs, from)
			e.FieldArgs[to] = a
		}
	}
	return e
}

// CreateMessage adds a message for the actor. Errors: Invalid, Forbidden
// (managers).
func (a *App) CreateMessage(ctx context.Context, ac *Actor, m *simplesender.Message) error {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return err
	}
	keys, err := a.fieldKeys(ctx, ac.id())
	if err != nil {
		return err
	}
	if err := validateMessage(m, keys); err != nil {
		return err
	}
	m.OwnerID = ac.id()
	return a.DB.Store().CreateMessage(ctx, m)
}

// UpdateMessage saves message m: the actor's, or for admins anyone's
// (recorded). A run in progress keeps the
// text it started with. Errors: Invalid, NotFound, Forbidden.
func (a *App) UpdateMessage(ctx context.Context, ac *Actor, m *simplesender.Message) error {
	cur, err := a.GetMessage(ctx, ac, m.ID)
	if err != nil {
		return err
	}
	if err := authorize(ac, ActEdit, cur.OwnerID); err != nil {
		return err
	}
	keys, err := a.fieldKeys(ctx, cur.OwnerID)
	if err != nil {
		return err
	}
	if err := validateMessage(m, keys); err != nil {
		return err
	}
	m.OwnerID, m.CreatedAt = cur.OwnerID, cur.CreatedAt
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.UpdateMessage(ctx, cur.OwnerID, m); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, cur.OwnerID, targetMessage, m.ID, "update")
	})
}

// DeleteMessage removes a message, as UpdateMessage. A message that a mailing uses
// is refused (Conflict): delete or change the mailing first. Past runs keep
// their own copy of the text either way.
func (a *App) DeleteMessage(ctx context.Context, ac *Actor, id int64) error {
	cur, err := a.GetMessage(ctx, ac, id)
	if err != nil {
		return err
	}
	if err := authorize(ac, ActDelete, cur.OwnerID); err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		n, err := s.MessageInUse(ctx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return simplesender.E(simplesender.KindConflict, "error.message.in_use")
		}
		if err := s.DeleteMessage(ctx, cur.OwnerID, id); err != nil {
			return err
		}
		return recordOnBehalf(ctx, s, ac, cur.OwnerID, targetMessage, id, "delete")
	})
	return err
}

// Preview is a message as one recipient would get it.
type Preview struct {
	Subject, Text, HTML string
	Recipient           *simplesender.Recipient
}

// PreviewMessage renders message id for recipient rid (0: sample values).
// Errors: NotFound.
func (a *App) PreviewMessage(ctx context.Context, ac *Actor, id, rid int64) (*Preview, error) {
	m, err := a.GetMessage(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	r := &simplesender.Recipient{Email: "ivan.petrov@example.com", FirstName: "Иван", LastName: "Петров", MiddleName: "Сергеевич"}
	if rid != 0 {
		if r, err = a.DB.Store().RecipientByID(ctx, m.OwnerID, rid); err != nil {
			return nil, err
		}
		if err := a.loadValues(ctx, []*simplesender.Recipient{r}); err != nil {
			return nil, err
		}
	}
	pm, err := render.ParseMessageWith(m.Subject, m.BodyText, m.BodyHTML, render.AnyCustom)
	if err != nil {
		return nil, err
	}
	f := &render.Fields{Email: r.Email, FirstName: r.FirstName, LastName: r.LastName, MiddleName: r.MiddleName, Custom: r.Fields}
	p := &Preview{Subject: pm.Subject.String(f, false), Text: pm.Text.String(f, false), Recipient: r}
	if pm.HTML != nil {
		p.HTML = pm.HTML.String(f, true)
	}
	return p, nil
}
