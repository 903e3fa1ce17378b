// Package i18n translates the user interface into the supported languages
// (English and Russian).
//
// Messages live in embedded JSON files, one per language
// (locales/en.json, locales/ru.json). A message is either a string or, when
// it depends on a number, an object keyed by CLDR plural category:
//
//	"nav.home": "Home",
//	"users.count": {"one": "{{.Count}} user", "other": "{{.Count}} users"}
//
// Russian plural messages need "one", "few", "many" and "other"; English ones
// need "one" and "other". A message may contain placeholders written
// {{.Name}}; nothing else of text/template is allowed, so a message is a fixed
// text with named holes. Values are substituted as plain text, never
// interpreted: a user's name containing "{{" or "<script>" comes out as typed.
// Output is plain text; HTML escaping is the job of html/template.
//
// New checks every file at start-up: a key missing in one language, a
// missing plural form or a malformed placeholder is an error, so a broken
// translation fails the boot and the tests rather than a page.
package i18n

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// defaultLang is the language used when nothing better is known.
const defaultLang = "en"

// supported lists the languages in the order Languages reports them, with the
// plural categories a plural message must define in each.
var supported = []langSpec{
	{"en", language.English, []plural.Form{plural.One, plural.Other}},
	{"ru", language.Russian, []plural.Form{plural.One, plural.Few, plural.Many, plural.Other}},
}

// langSpec describes a supported language.
type langSpec struct {
	code  string
	tag   language.Tag
	forms []plural.Form // categories a plural message must define
}

// Bundle holds the translations of every supported language. It is immutable
// after New and safe for concurrent use.
type Bundle struct {
	langs      []string
	localizers map[string]*Localizer
}

// New loads and checks the embedded locale files. It returns an error if a
// file is missing or malformed, if a key exists in one language but not in
// another, if a plural message lacks a category its language needs (or has
// one it does not use), or if a message's placeholders do not parse.
func New() (*Bundle, error) {
	return newBundle(localeFS, "locales")
}

// Languages returns the supported language codes, default first: ["en", "ru"].
// The caller may modify the returned slice.
func (b *Bundle) Languages() []string {
	return slices.Clone(b.langs)
}

// Match returns the first supported language found among candidates, or
// "en" if there is none. Each candidate is a language tag ("ru", "ru-RU", from
// a cookie or a user's setting) or a whole Accept-Language header value, whose
// entries are tried in order of their q-weights. Candidates are tried in
// order; empty and unparsable ones are skipped, as are unparsable entries of a
// header.
func (b *Bundle) Match(candidates ...string) string {
	for _, c := range candidates {
		for _, tag := range parseAccept(c) {
			base, conf := tag.Base()
			if conf < language.High {
				// "und" or "*": a guess, not a preference.
				continue
			}
			if code := base.String(); b.localizers[code] != nil {
				return code
			}
		}
	}
	return defaultLang
}

// maxAcceptEntries bounds the work done on a hostile Accept-Language header.
const maxAcceptEntries = 32

// parseAccept returns the language tags of an Accept-Language value (or a
// single tag), most preferred first. Unlike language.ParseAcceptLanguage it
// skips a malformed entry instead of rejecting the whole header.
func parseAccept(s string) []language.Tag {
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var ws []weighted
	for entry := range strings.SplitSeq(s, ",") {
		if len(ws) == maxAcceptEntries {
			break
		}
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		tags, qs, err := language.ParseAcceptLanguage(entry)
		if err != nil || len(tags) != 1 {
			continue // malformed, or q=0 ("not acceptable")
		}
		ws = append(ws, weighted{tags[0], qs[0]})
	}
	slices.SortStableFunc(ws, func(a, b weighted) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]language.Tag, len(ws))
	for i, w := range ws {
		tags[i] = w.tag
	}
	return tags
}

// For returns the Localizer for lang, a code returned by Match or Languages.
// Any other value is passed through Match, so "ru-RU" gives Russian and an
// unknown language gives English.
func (b *Bundle) For(lang string) *Localizer {
	if l := b.localizers[lang]; l != nil {
		return l
	}
	return b.localizers[b.Match(lang)]
}

// Localizer translates messages into one language. It is immutable and safe
// for concurrent use.
type Localizer struct {
	lang     string
	tag      language.Tag
	messages map[string]*message
}

// Lang returns the code of the Localizer's language, such as "ru".
func (l *Localizer) Lang() string { return l.lang }

// Has reports whether key names a message.
func (l *Localizer) Has(key string) bool {
	_, ok := l.messages[key]
	return ok
}

// T returns the message key with its placeholders filled from args, which
// are alternating name/value pairs: T("flash.welcome", "Name", "Иван") fills
// {{.Name}}. Values are formatted with fmt.Sprint and inserted literally. A
// name that is not a string, and a trailing name without a value, are
// ignored; a placeholder with no value is left as written so the omission
// shows. For a plural message T uses the "other" form. An unknown key is
// returned unchanged.
func (l *Localizer) T(key string, args ...any) string {
	m := l.messages[key]
	if m == nil {
		return key
	}
	return m.forms[plural.Other].render(pairs(args, nil))
}

// N is like T but picks the plural form of key for count by the language's
// CLDR rules, and fills {{.Count}} with count. A message that is not plural
// is rendered as by T, with Count available.
func (l *Localizer) N(key string, count int, args ...any) string {
	m := l.messages[key]
	if m == nil {
		return key
	}
	form := plural.Other
	if m.plural {
		form = plural.Cardinal.MatchPlural(l.tag, absInt(count), 0, 0, 0, 0)
	}
	p := m.forms[form]
	if p == nil {
		p = m.forms[plural.Other] // unreachable: New checks every form the rules produce
	}
	return p.render(pairs(args, map[string]any{"Count": count}))
}

// Wait returns d, rounded up, in words for "try again in ...": "40 seconds",
// "15 minutes", "2 hours 5 minutes"; in Russian "15 минут", "21 минуту", with
// the language's plural forms (messages wait.seconds, wait.minutes and
// wait.hours). Below a minute it counts seconds (at least 1), below an hour
// minutes, beyond that hours and the remaining minutes.
func (l *Localizer) Wait(d time.Duration) string {
	secs := max(int((d+time.Second-1)/time.Second), 1)
	if secs < 60 {
		return l.N("wait.seconds", secs)
	}
	mins := (secs + 59) / 60
	if mins < 60 {
		return l.N("wait.minutes", mins)
	}
	s := l.N("wait.hours", mins/60)
	if m := mins % 60; m > 0 {
		s += " " + l.N("wait.minutes", m)
	}
	return s
}

// absInt returns |n|, or math.MaxInt for math.MinInt (whose magnitude takes
// the same plural form in every supported language).
func absInt(n int) int {
	if n == math.MinInt {
		return math.MaxInt
	}
	if n < 0 {
		return -n
	}
	return n
}

// pairs adds the name/value pairs of args to data (allocated if nil).
func pairs(args []any, data map[string]any) map[string]any {
	if len(args) < 2 {
		return data
	}
	if data == nil {
		data = make(map[string]any, len(args)/2)
	}
	for i := 0; i+1 < len(args); i += 2 {
		if name, ok := args[i].(string); ok {
			data[name] = args[i+1]
		}
	}
	return data
}

// message is one translated message: a single pattern (stored as Other), or
// one pattern per plural category.
type message struct {
	plural bool
	forms  map[plural.Form]pattern
}

// pattern is a message text split into literal text and placeholders.
type pattern []segment

// segment is literal text, or a placeholder when name is set.
type segment struct {
	text string // literal text; for a placeholder, its source, shown when no value is given
	name string
}

func (p pattern) render(data map[string]any) string {
	if len(p) == 1 && p[0].name == "" {
		return p[0].text
	}
	var sb strings.Builder
	for _, s := range p {
		if s.name == "" {
			sb.WriteString(s.text)
			continue
		}
		v, ok := data[s.name]
		if !ok {
			sb.WriteString(s.text)
			continue
		}
		if str, ok := v.(string); ok {
			sb.WriteString(str)
		} else {
			fmt.Fprint(&sb, v)
		}
	}
	return sb.String()
}
