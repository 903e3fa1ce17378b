package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"simplesender/internal/i18n"
)

// The API page renders the JSON API's OpenAPI document (Config.OpenAPI) as
// HTML on the server: operations grouped by tag with their parameters,
// bodies and responses, then the schemas. Without a document it still
// explains authentication and errors, and links to /api/v1/openapi.json.

// apiDoc is the API page's data.
type apiDoc struct {
	Title, Version, Description string
	Server                      string
	Groups                      []apiGroup
	Schemas                     []apiSchema
}

type apiGroup struct {
	Tag  string
	Name string // the tag in the viewer's language
	Ops  []apiOp
}

type apiOp struct {
	Method, Path, Summary, Description, Anchor string
	Public                                     bool // no token needed
	Params                                     []apiParam
	Body                                       []apiContent
	BodyRequired                               bool
	Responses                                  []apiResponse
}

type apiParam struct {
	Name, In, Description string
	Type                  []typePart
	Required              bool
}

type apiContent struct {
	MediaType string
	Type      []typePart
}

type apiResponse struct {
	Code, Description string
	Content           []apiContent
}

type apiSchema struct {
	Name, Description string
	Type              []typePart // for schemas that are not objects
	Props             []apiProp
}

type apiProp struct {
	Name, Description string
	Type              []typePart
	Required          bool
}

// typePart is a piece of a type's description; Ref names a schema to link.
type typePart struct {
	Text, Ref string
}

// openAPIObj is the part of an OpenAPI 3.1 document the page shows.
type openAPIObj struct {
	Info struct {
		Title, Version, Description string
	}
	Servers []struct {
		URL string `json:"url"`
	}
	Paths      map[string]map[string]openAPIOp
	Components struct {
		Schemas map[string]map[string]any
	}
}

type openAPIOp struct {
	Summary, Description string
	Tags                 []string
	Security             *[]map[string][]string
	Parameters           []struct {
		Name, In, Description string
		Required              bool
		Schema                map[string]any
	}
	RequestBody *struct {
		Required bool
		Content  map[string]struct{ Schema map[string]any }
	}
	Responses map[string]struct {
		Description string
		Content     map[string]struct{ Schema map[string]any }
	}
}

var methodOrder = map[string]int{"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}

// parseAPIDoc turns an OpenAPI document into the page's data.
func parseAPIDoc(raw []byte) (*apiDoc, error) {
	var o openAPIObj
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	if len(o.Paths) == 0 {
		return nil, fmt.Errorf("openapi: no paths")
	}
	d := &apiDoc{Title: o.Info.Title, Version: o.Info.Version, Description: o.Info.Description}
	if len(o.Servers) > 0 {
		d.Server = o.Servers[0].URL
	}
	groups := map[string][]apiOp{}
	for path, methods := range o.Paths {
		for method, op := range methods {
			if _, ok := methodOrder[method]; !ok {
				continue
			}
			x := apiOp{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description,
				Anchor: "op-" + anchor(method+path), Public: op.Security != nil && len(*op.Security) == 0}
			for _, p := range op.Parameters {
				x.Params = append(x.Params, apiParam{Name: p.Name, In: p.In, Description: p.Description,
					Required: p.Required, Type: describeType(p.Schema)})
			}
			if rb := op.RequestBody; rb != nil {
				x.BodyRequired = rb.Required
				for _, mt := range sortedKeys(rb.Content) {
					x.Body = append(x.Body, apiContent{MediaType: mt, Type: describeType(rb.Content[mt].Schema)})
				}
			}
			for _, code := range sortedKeys(op.Responses) {
				resp := op.Responses[code]
				r := apiResponse{Code: code, Description: resp.Description}
				for _, mt := range sortedKeys(resp.Content) {
					r.Content = append(r.Content, apiContent{MediaType: mt, Type: describeType(resp.Content[mt].Schema)})
				}
				x.Responses = append(x.Responses, r)
			}
			tag := ""
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			groups[tag] = append(groups[tag], x)
		}
	}
	for _, tag := range sortedKeys(groups) {
		ops := groups[tag]
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return methodOrder[strings.ToLower(ops[i].Method)] < methodOrder[strings.ToLower(ops[j].Method)]
		})
		d.Groups = append(d.Groups, apiGroup{Tag: tag, Ops: ops})
	}
	for _, name := range sortedKeys(o.Components.Schemas) {
		sch := o.Components.Schemas[name]
		x := apiSchema{Name: name}
		x.Description, _ = sch["description"].(string)
		props, _ := sch["properties"].(map[string]any)
		if props == nil {
			x.Type = describeType(sch)
		}
		required := map[string]bool{}
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if s, ok := r.(string); ok {
					required[s] = true
				}
			}
		}
		for _, pn := range sortedKeys(props) {
			ps, _ := props[pn].(map[string]any)
			desc, _ := ps["description"].(string)
			x.Props = append(x.Props, apiProp{Name: pn, Description: desc, Required: required[pn], Type: describeType(ps)})
		}
		d.Schemas = append(d.Schemas, x)
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// anchor makes an HTML id of s.
func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// describeType describes a JSON schema in a few words, linking the named
// schemas it refers to.
func describeType(s map[string]any) []typePart {
	if s == nil {
		return []typePart{{Text: "—"}}
	}
	if ref, ok := s["$ref"].(string); ok {
		name := ref[strings.LastIndexByte(ref, '/')+1:]
		return []typePart{{Text: name, Ref: "schema-" + anchor(name)}}
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok {
			sep := " | "
			if k == "allOf" {
				sep = " & "
			}
			var out []typePart
			for i, a := range alts {
				if i > 0 {
					out = append(out, typePart{Text: sep})
				}
				m, _ := a.(map[string]any)
				out = append(out, describeType(m)...)
			}
			return out
		}
	}
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				types = append(types, s)
			}
		}
	}
	var out []typePart
	for i, t := range types {
		if i > 0 {
			out = append(out, typePart{Text: " | "})
		}
		switch t {
		case "array":
			items, _ := s["items"].(map[string]any)
			out = append(out, typePart{Text: "array of "})
			out = append(out, describeType(items)...)
		case "object":
			props, _ := s["properties"].(map[string]any)
			if len(props) > 0 {
				out = append(out, typePart{Text: "object {" + strings.Join(sortedKeys(props), ", ") + "}"})
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				out = append(out, typePart{Text: "map of "})
				out = append(out, describeType(ap)...)
			} else {
				out = append(out, typePart{Text: "object"})
			}
		default:
			text := t
			if f, ok := s["format"].(string); ok {
				text += " (" + f + ")"
			}
			out = append(out, typePart{Text: text})
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = fmt.Sprint(v)
		}
		out = append(out, typePart{Text: ": " + strings.Join(vals, ", ")})
	}
	if len(out) == 0 {
		return []typePart{{Text: "any"}}
	}
	return out
}

// apiDocs is the API page: open to everyone, like the document itself.
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) {
	var doc *apiDoc
	if s.cfg.OpenAPI != nil {
		var err error
		if doc, err = parseAPIDoc(s.cfg.OpenAPI()); err != nil {
			s.log.Error("read the OpenAPI document", "err", err)
			doc = nil
		}
	}
	if doc != nil {
		localizeAPIDoc(doc, reqCtx(r).L)
	}
	s.render(w, r, http.StatusOK, "apidocs", &Page{Title: "page.apidocs.title", Nav: "api", Data: doc})
}

// localizeAPIDoc translates the page's own words in the document: group
// names, operation summaries and the words of type descriptions. The
// English page keeps the document's summaries as they are; another language
// takes "apidocs.op.<method>_<path>" where the catalogue has it, and the
// document's English otherwise (descriptions stay as the document has them).
func localizeAPIDoc(d *apiDoc, l *i18n.Localizer) {
	english := l.Lang() == "en"
	words := map[string]string{}
	for _, w := range []struct{ text, key string }{
		{"array of ", "apidocs.type.array_of"}, {"map of ", "apidocs.type.map_of"},
		{"object", "apidocs.type.object"}, {"any", "apidocs.type.any"},
	} {
		words[w.text] = l.T(w.key)
	}
	tr := func(parts []typePart) {
		for i, p := range parts {
			if p.Ref != "" {
				continue
			}
			if t, ok := words[p.Text]; ok {
				parts[i].Text = t
			} else if rest, ok := strings.CutPrefix(p.Text, "object {"); ok {
				parts[i].Text = words["object"] + " {" + rest
			}
		}
	}
	for gi := range d.Groups {
		g := &d.Groups[gi]
		g.Name = g.Tag
		if k := "apidocs.tag." + g.Tag; l.Has(k) {
			g.Name = l.T(k)
		}
		for oi := range g.Ops {
			op := &g.Ops[oi]
			if k := opKey(op.Method, op.Path); !english && l.Has(k) {
				op.Summary = l.T(k)
			}
			for pi := range op.Params {
				tr(op.Params[pi].Type)
			}
			for bi := range op.Body {
				tr(op.Body[bi].Type)
			}
			for ri := range op.Responses {
				for ci := range op.Responses[ri].Content {
					tr(op.Responses[ri].Content[ci].Type)
				}
			}
		}
	}
	for si := range d.Schemas {
		tr(d.Schemas[si].Type)
		for pi := range d.Schemas[si].Props {
			tr(d.Schemas[si].Props[pi].Type)
		}
	}
}

// opKey is the message key of an operation's summary: "GET" and
// "/recipients/{id}" give apidocs.op.get_recipients_id.
func opKey(method, path string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(path) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
		} else {
			gap = true
		}
	}
	return "apidocs.op." + strings.ToLower(method) + "_" + b.String()
}
