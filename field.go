package simplesender

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// FieldType is the type of a custom field's values.
type FieldType string

// The types of custom fields.
const (
	FieldText   FieldType = "text"
	FieldNumber FieldType = "number"
	FieldDate   FieldType = "date"
	FieldBool   FieldType = "bool"
)

// FieldTypes lists the field types in the order a form offers them.
var FieldTypes = []FieldType{FieldText, FieldNumber, FieldDate, FieldBool}

// Limits of custom fields.
const (
	MaxFields       = 50  // custom fields per user
	MaxFieldKey     = 40  // characters of a key
	MaxFieldName    = 100 // characters of a name
	MaxFieldTextLen = 500 // characters of a text value
)

// Field is a custom field a user defines: every recipient of the user may
// have a value of it. Key is what a message's placeholder ({{key}}), a CSV
// column and the API name it by.
type Field struct {
	ID        int64
	OwnerID   int64
	Key       string
	Name      string
	Type      FieldType
	Position  int
	CreatedAt time.Time
}

// builtinKeys are the names a custom field's key may not take: the
// recipient's own columns, the placeholders and the CSV mapping names.
var builtinKeys = map[string]bool{
	"id": true, "email": true, "name": true, "comment": true, "first_name": true, "last_name": true,
	"middle_name": true, "full_name": true, "unsubscribe_url": true, "tags": true, "lists": true,
	"list": true, "tag": true, "fields": true, "created_at": true, "updated_at": true, "owner_id": true,
}

// ValidFieldKey reports whether key has the form of a custom field's key:
// a lower-case letter, then up to 39 lower-case letters, digits or
// underscores. It does not check the built-in names (see NormalizeField).
func ValidFieldKey(key string) bool {
	if key == "" || len(key) > MaxFieldKey || key[0] < 'a' || key[0] > 'z' {
		return false
	}
	for i := 1; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Valid reports whether t is one of FieldTypes.
func (t FieldType) Valid() bool {
	switch t {
	case FieldText, FieldNumber, FieldDate, FieldBool:
		return true
	}
	return false
}

// NormalizeField trims and checks f's key, name and type. An empty name
// becomes the key. Errors: Invalid with fields key ("error.field.key",
// "error.field.reserved"), name ("error.field.name"), type
// ("error.field.type").
func NormalizeField(f *Field) error {
	f.Key = strings.ToLower(strings.TrimSpace(f.Key))
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		f.Name = f.Key
	}
	e := FieldErrors{}
	switch {
	case !ValidFieldKey(f.Key):
		e.Add("key", "error.field.key")
	case builtinKeys[f.Key]:
		e.Add("key", "error.field.reserved")
	}
	if !PlainText(f.Name, MaxFieldName) {
		e.Add("name", "error.field.name")
	}
	if !f.Type.Valid() {
		e.Add("type", "error.field.type")
	}
	return e.Err()
}

// CanonicalValue checks s as a value of a field of type t and returns it in
// its stored form, with its sortable number (numbers as themselves, dates as
// days since 1970-01-01; ok false for text and yes/no). Numbers take a
// comma or a point for the decimal mark and spaces between thousands;
// dates are YYYY-MM-DD or DD.MM.YYYY; yes/no takes true/false, yes/no,
// да/нет, 1/0. An empty s is no value (the caller removes it). The error is
// a message key: error.field.number, error.field.date, error.field.bool,
// error.field.text.
func CanonicalValue(t FieldType, s string) (value string, num float64, hasNum bool, errKey string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", 0, false, ""
	}
	switch t {
	case FieldNumber:
		c := strings.NewReplacer(" ", "", "\u00a0", "", ",", ".").Replace(s)
		f, err := strconv.ParseFloat(c, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(c, "xXpPnN_") {
			return s, 0, false, "error.field.number"
		}
		return strconv.FormatFloat(f, 'f', -1, 64), f, true, ""
	case FieldDate:
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			if d, err = time.Parse("02.01.2006", s); err != nil {
				return s, 0, false, "error.field.date"
			}
		}
		return d.Format("2006-01-02"), float64(d.Unix() / 86400), true, ""
	case FieldBool:
		switch strings.ToLower(s) {
		case "true", "yes", "1", "да", "y", "on":
			return "true", 0, false, ""
		case "false", "no", "0", "нет", "n", "off":
			return "false", 0, false, ""
		}
		return s, 0, false, "error.field.bool"
	default:
		if !PlainText(s, MaxFieldTextLen) {
			return s, 0, false, "error.field.text"
		}
		return s, 0, false, ""
	}
}

// FieldValue is a recipient's value of a custom field, in its stored form
// (see CanonicalValue).
type FieldValue struct {
	FieldID int64
	Value   string
	Num     float64
	HasNum  bool
}
