package simplesender

import (
	"slices"
	"strings"
	"time"
	"unicode"
)

// List is a named list of a user's recipients; a recipient may be on many.
type List struct {
	ID        int64
	OwnerID   int64
	Name      string
	Members   int // how many recipients are on it, when the reader counted them
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxListName and MaxTag bound the length, in characters, of a list's name
// and of a tag.
const (
	MaxListName = 100
	MaxTag      = 50
)

// NormalizeListName trims name and checks it. Errors: Invalid (field name,
// "error.list.name") for an empty or too long name or one with control
// characters.
func NormalizeListName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !PlainText(name, MaxListName) {
		return name, Invalid(map[string]string{"name": "error.list.name"})
	}
	return name, nil
}

// NormalizeTag returns tag trimmed and in lower case, and whether it is a
// valid tag: not empty, at most MaxTag characters, letters, digits, spaces
// and "-_.:" only (no comma: a form lists tags separated by commas).
func NormalizeTag(tag string) (string, bool) {
	tag = strings.ToLower(strings.Join(strings.Fields(tag), " "))
	if tag == "" || !PlainText(tag, MaxTag) {
		return tag, false
	}
	for _, r := range tag {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.:", r) {
			return tag, false
		}
	}
	return tag, true
}

// ParseTags splits a comma-separated list of tags, normalized, each once.
// Errors: Invalid (field, "error.tag.invalid") when one is not a valid tag.
func ParseTags(field, s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		t, ok := NormalizeTag(part)
		if !ok {
			return nil, Invalid(map[string]string{field: "error.tag.invalid"})
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// AudienceKind is what a rule of a mailing's audience names.
type AudienceKind string

// The kinds of audience rules.
const (
	AudienceList    AudienceKind = "list"
	AudienceTag     AudienceKind = "tag"
	AudienceSegment AudienceKind = "segment"
)

// AudienceRule is one row of a mailing's audience definition: everyone on
// a list, with a tag, or in a segment, included or (Exclude) taken out. A mailing's
// audience is its chosen recipients plus every included rule, minus every
// excluded one, each address once; it is resolved when a run starts.
type AudienceRule struct {
	Kind     AudienceKind
	Exclude  bool
	ListID   int64  // for AudienceList
	ListName string // for AudienceList, as read back
	Tag      string // for AudienceTag
	// SegmentID names the segment of an AudienceSegment rule; SegmentName
	// and Segment are its name and definition, as read back.
	SegmentID   int64
	SegmentName string
	Segment     *SegmentDefinition
}
