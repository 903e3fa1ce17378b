package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template/parse"

	"golang.org/x/text/feature/plural"
)

//go:embed locales/*.json
var localeFS embed.FS

// formNames maps the CLDR category names used in the files to plural forms.
var formNames = map[string]plural.Form{
	"zero":  plural.Zero,
	"one":   plural.One,
	"two":   plural.Two,
	"few":   plural.Few,
	"many":  plural.Many,
	"other": plural.Other,
}

// newBundle loads the locale files of every supported language from dir in
// fsys: <lang>.json, and any number of <lang>.<area>.json beside it (one per
// feature area, so that work on different areas does not touch one file);
// a key may stand in only one file of a language. It checks the files, and
// each language against the default one.
func newBundle(fsys fs.FS, dir string) (*Bundle, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("i18n: reading locales: %w", err)
	}
	files := map[string][]string{} // language -> file names, <lang>.json first
	for _, e := range entries {
		lang, _, _ := strings.Cut(strings.TrimSuffix(e.Name(), ".json"), ".")
		if !strings.HasSuffix(e.Name(), ".json") || !slices.ContainsFunc(supported, func(s langSpec) bool { return s.code == lang }) {
			return nil, fmt.Errorf("i18n: unexpected locale file %s (supported: en, ru)", path.Join(dir, e.Name()))
		}
		files[lang] = append(files[lang], e.Name())
	}

	b := &Bundle{localizers: make(map[string]*Localizer, len(supported))}
	var errs []error
	for _, s := range supported {
		names := files[s.code]
		if !slices.Contains(names, s.code+".json") {
			return nil, fmt.Errorf("i18n: reading locale: %s missing", path.Join(dir, s.code+".json"))
		}
		msgs := map[string]*message{}
		from := map[string]string{}
		for _, f := range names {
			name := path.Join(dir, f)
			buf, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("i18n: reading locale: %w", err)
			}
			part, fileErrs := parseFile(buf, s.forms)
			for _, e := range fileErrs {
				errs = append(errs, fmt.Errorf("%s: %w", name, e))
			}
			for _, k := range slices.Sorted(maps.Keys(part)) {
				if other, dup := from[k]; dup {
					errs = append(errs, fmt.Errorf("%s: message %q: also in %s", name, k, other))
					continue
				}
				msgs[k], from[k] = part[k], name
			}
		}
		b.langs = append(b.langs, s.code)
		b.localizers[s.code] = &Localizer{lang: s.code, tag: s.tag, messages: msgs}
	}
	if len(errs) == 0 {
		errs = compareLocales(b)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("i18n: invalid locales: %w", errors.Join(errs...))
	}
	return b, nil
}

// parseFile parses one locale file: a JSON object whose values are strings
// or objects of plural forms. forms are the categories a plural message needs.
func parseFile(buf []byte, forms []plural.Form) (map[string]*message, []error) {
	raw, err := decodeObject(buf)
	if err != nil {
		return nil, []error{err}
	}
	msgs := make(map[string]*message, len(raw))
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		m, err := parseMessage(raw[key], forms)
		if err != nil {
			errs = append(errs, fmt.Errorf("message %q: %w", key, err))
			continue
		}
		msgs[key] = m
	}
	return msgs, errs
}

// decodeObject decodes a flat JSON object, rejecting empty and duplicate
// keys (encoding/json silently keeps the last duplicate).
func decodeObject(buf []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("want a JSON object of messages")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object, More guarantees a key
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("message %q: %w", key, err)
		}
		if strings.TrimSpace(key) == "" {
			return nil, errors.New("empty message key")
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("message %q: duplicate key", key)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// parseMessage parses one message value: a string, or an object mapping
// plural categories to strings that has exactly the categories in forms.
func parseMessage(raw json.RawMessage, forms []plural.Form) (*message, error) {
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		p, err := compile(text)
		if err != nil {
			return nil, err
		}
		return &message{forms: map[plural.Form]pattern{plural.Other: p}}, nil
	}
	var texts map[string]string
	if err := json.Unmarshal(raw, &texts); err != nil {
		return nil, errors.New("want a string or an object of plural forms with string values")
	}
	m := &message{plural: true, forms: make(map[plural.Form]pattern, len(texts))}
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		form, ok := formNames[name]
		if !ok || !slices.Contains(forms, form) {
			return nil, fmt.Errorf("plural form %q is not used in this language (want %s)", name, formList(forms))
		}
		p, err := compile(texts[name])
		if err != nil {
			return nil, fmt.Errorf("plural form %q: %w", name, err)
		}
		m.forms[form] = p
	}
	if len(m.forms) != len(forms) {
		return nil, fmt.Errorf("plural message needs the forms %s, has %s",
			formList(forms), strings.Join(slices.Sorted(maps.Keys(texts)), ", "))
	}
	return m, nil
}

func formList(forms []plural.Form) string {
	names := make([]string, 0, len(forms))
	for _, f := range forms {
		for name, ff := range formNames {
			if ff == f {
				names = append(names, name)
			}
		}
	}
	return strings.Join(names, ", ")
}

// compile splits a message text into literal text and {{.Name}}
// placeholders. It uses text/template's parser, so the syntax (including
// trim markers such as {{- .Name}}) is the familiar one, but accepts nothing
// besides text and single-field placeholders: no functions, pipelines,
// conditions or nested fields. A message therefore cannot execute anything,
// whatever data it is given.
func compile(text string) (pattern, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty text")
	}
	const name = "message"
	trees, err := parse.Parse(name, text, "{{", "}}")
	if err != nil {
		return nil, err
	}
	tree := trees[name]
	if len(trees) != 1 || tree == nil {
		return nil, errors.New("{{define}} and {{block}} are not allowed")
	}
	var p pattern
	for _, node := range tree.Root.Nodes {
		switch n := node.(type) {
		case *parse.TextNode:
			p = append(p, segment{text: string(n.Text)})
		case *parse.ActionNode:
			field := placeholder(n)
			if field == "" {
				return nil, fmt.Errorf("%s: only placeholders like {{.Name}} are allowed", n)
			}
			p = append(p, segment{text: n.String(), name: field})
		default:
			return nil, fmt.Errorf("%s: only placeholders like {{.Name}} are allowed", node)
		}
	}
	return p, nil
}

// placeholder returns Name for an action {{.Name}}, or "" for any other action.
func placeholder(n *parse.ActionNode) string {
	pipe := n.Pipe
	if pipe == nil || len(pipe.Decl) != 0 || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return ""
	}
	f, ok := pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return ""
	}
	return f.Ident[0]
}

// compareLocales checks that every language has the same keys as the
// default one, each of the same kind (plural or not) and using the same
// placeholders, so a typo such as {{.Nmae}} in one translation is caught.
func compareLocales(b *Bundle) []error {
	var errs []error
	def := b.localizers[defaultLang]
	for _, lang := range b.langs {
		l := b.localizers[lang]
		if l == def {
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(def.messages)) {
			dm := def.messages[key]
			m, ok := l.messages[key]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("message %q is missing in %s", key, lang))
			case m.plural != dm.plural:
				errs = append(errs, fmt.Errorf("message %q is plural in one of %s, %s but not in the other", key, defaultLang, lang))
			case !slices.Equal(dm.placeholders(), m.placeholders()):
				errs = append(errs, fmt.Errorf("message %q uses placeholders %v in %s but %v in %s",
					key, dm.placeholders(), defaultLang, m.placeholders(), lang))
			}
		}
		for _, key := range slices.Sorted(maps.Keys(l.messages)) {
			if _, ok := def.messages[key]; !ok {
				errs = append(errs, fmt.Errorf("message %q is missing in %s", key, defaultLang))
			}
		}
	}
	return errs
}

// placeholders returns the sorted names used in any form of m.
func (m *message) placeholders() []string {
	set := map[string]bool{}
	for _, p := range m.forms {
		for _, s := range p {
			if s.name != "" {
				set[s.name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
