package simplesender

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Segment is a user's saved filter over their recipients: whoever matches
// its Definition when it is read (a count, a page, a run's start).
type Segment struct {
	ID         int64
	OwnerID    int64
	Name       string
	Definition SegmentDefinition
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SegmentDefinition is what a segment matches: recipients meeting all (Match
// "all") or any (Match "any") of the conditions. Its JSON form is the API's
// and the one stored.
type SegmentDefinition struct {
	Match      string      `json:"match"`
	Conditions []Condition `json:"conditions"`
}

// Condition is one test of a segment. Value holds, by Field: text for
// email, name, comment; a date "YYYY-MM-DD" for created; a list id for
// list; a tag for tag; nothing for history, whose Mailing names the mailing
// (0: any of the owner's).
type Condition struct {
	Field   string `json:"field"`
	Op      string `json:"op"`
	Value   any    `json:"value,omitempty"`
	Mailing int64  `json:"mailing,omitempty"`
}

// The fields a condition may test, and the limits of a definition.
const (
	SegmentFieldEmail   = "email"
	SegmentFieldName    = "name"
	SegmentFieldComment = "comment"
	SegmentFieldCreated = "created"
	SegmentFieldList    = "list"
	SegmentFieldTag     = "tag"
	SegmentFieldHistory = "history"

	MaxSegmentName       = 100
	MaxSegmentConditions = 20
	MaxSegmentText       = 200
)

// SegmentFields lists the fields in the order the editor offers them.
var SegmentFields = []string{SegmentFieldEmail, SegmentFieldName, SegmentFieldComment, SegmentFieldCreated,
	SegmentFieldList, SegmentFieldTag, SegmentFieldHistory}

// segmentTextOps are the operators of a text field; "empty" and "not_empty"
// take no value.
var segmentTextOps = []string{"contains", "not_contains", "eq", "neq", "starts_with", "ends_with", "empty", "not_empty"}

// SegmentOps returns the operators field accepts, in the editor's order.
// History's operators are events the service knows of a mailing: sent (the
// server accepted it; a later bounce or complaint still counts as sent),
// not sent (no delivery of it reached that state), failed, bounced,
// complained, unsubscribed (through its link or address).
func SegmentOps(field string) []string {
	switch field {
	case SegmentFieldEmail, SegmentFieldName, SegmentFieldComment:
		return segmentTextOps
	case SegmentFieldCreated:
		return []string{"before", "since"}
	case SegmentFieldList:
		return []string{"in", "not_in"}
	case SegmentFieldTag:
		return []string{"has", "has_not"}
	case SegmentFieldHistory:
		return []string{"was_sent", "not_sent", "failed", "bounced", "complained", "unsubscribed"}
	}
	return nil
}

// NeedsValue reports whether a condition on field with op takes a value.
func NeedsValue(field, op string) bool {
	return field != SegmentFieldHistory && op != "empty" && op != "not_empty"
}

// ParseSegmentDefinition reads a definition from JSON and checks it as
// CheckDefinition does. Errors: Invalid (field "definition") for JSON that
// is not a definition, with unknown keys or trailing data.
func ParseSegmentDefinition(data []byte) (SegmentDefinition, error) {
	var d SegmentDefinition
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil || dec.More() {
		return d, Invalid(map[string]string{"definition": "error.segment.json"})
	}
	return d, d.Check()
}

// Check normalizes d in place (trimmed text, lower-case tags, list ids and
// dates in their canonical types) and checks it: match all or any, 1 to
// MaxSegmentConditions conditions, known fields and operators, a value of
// the right type where one is needed. Whether a list or a mailing is the
// owner's is the caller's to check. Errors: Invalid, with field
// "definition" or "conditions.N" (N from 1) and the row in FieldArgs.
func (d *SegmentDefinition) Check() error {
	f := FieldErrors{}
	switch d.Match {
	case "":
		d.Match = "all"
	case "all", "any":
	default:
		f.Add("definition", "error.segment.match")
	}
	if len(d.Conditions) == 0 {
		f.Add("definition", "error.segment.no_conditions")
	}
	if len(d.Conditions) > MaxSegmentConditions {
		f.Add("definition", "error.segment.too_many")
		return f.Err()
	}
	args := map[string][]any{}
	for i := range d.Conditions {
		if key := d.Conditions[i].check(); key != "" {
			field := "conditions." + strconv.Itoa(i+1)
			f.Add(field, key)
			args[field] = []any{"Row", i + 1}
		}
	}
	if err := f.Err(); err != nil {
		e := AsError(err)
		e.FieldArgs = args
		return e
	}
	return nil
}

// check normalizes c and returns the message key of what is wrong, or "".
func (c *Condition) check() string {
	c.Field = strings.TrimSpace(c.Field)
	ops := SegmentOps(c.Field)
	if ops == nil {
		return "error.segment.field"
	}
	if !slices.Contains(ops, c.Op) {
		return "error.segment.op"
	}
	if c.Field == SegmentFieldHistory {
		if c.Value != nil {
			return "error.segment.value"
		}
		if c.Mailing < 0 {
			return "error.segment.mailing"
		}
		return ""
	}
	if c.Mailing != 0 {
		return "error.segment.value"
	}
	if !NeedsValue(c.Field, c.Op) {
		c.Value = nil
		return ""
	}
	switch c.Field {
	case SegmentFieldList:
		id, ok := intValue(c.Value)
		if !ok || id <= 0 {
			return "error.segment.list"
		}
		c.Value = id
	case SegmentFieldTag:
		s, _ := c.Value.(string)
		tag, ok := NormalizeTag(s)
		if !ok {
			return "error.tag.invalid"
		}
		c.Value = tag
	case SegmentFieldCreated:
		s, _ := c.Value.(string)
		if _, err := time.Parse(time.DateOnly, strings.TrimSpace(s)); err != nil {
			return "error.segment.date"
		}
		c.Value = strings.TrimSpace(s)
	default:
		s, ok := c.Value.(string)
		s = strings.TrimSpace(s)
		if !ok || s == "" || !PlainText(s, MaxSegmentText) {
			return "error.segment.text"
		}
		c.Value = s
	}
	return ""
}

// intValue reads a whole number from a decoded JSON value (json.Number,
// float64, int64) or its decimal text, as a form sends it.
func intValue(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		id, err := strconv.ParseInt(n.String(), 10, 64)
		return id, err == nil
	case float64:
		return int64(n), n == float64(int64(n))
	case int64:
		return n, true
	case int:
		return int64(n), true
	case string:
		id, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return id, err == nil
	}
	return 0, false
}

// ListID returns the list id of a checked list condition.
func (c Condition) ListID() int64 {
	id, _ := intValue(c.Value)
	return id
}

// Text returns the value of a checked condition as text (a date, a tag, a
// list id in decimal), "" when it has none.
func (c Condition) Text() string {
	switch v := c.Value.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	if id, ok := intValue(c.Value); ok {
		return strconv.FormatInt(id, 10)
	}
	return ""
}

// Date returns the date of a checked created condition, midnight UTC.
func (c Condition) Date() time.Time {
	t, _ := time.Parse(time.DateOnly, c.Text())
	return t
}

// JSON returns d in its JSON form, as stored.
func (d SegmentDefinition) JSON() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// NormalizeSegmentName trims name and checks it. Errors: Invalid (field
// name, "error.segment.name").
func NormalizeSegmentName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !PlainText(name, MaxSegmentName) {
		return name, Invalid(map[string]string{"name": "error.segment.name"})
	}
	return name, nil
}
