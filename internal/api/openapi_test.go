package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender/internal/store/storetest"
)

// TestOpenAPICoversRoutes fails when the router has a route the document
// lacks, or the document a route the router lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	x := New(nil, testBundle(t), slog.New(slog.DiscardHandler))
	routed := map[string]bool{}
	for _, rt := range x.routeTable() {
		routed[rt.pattern] = true
		if !x.patterns[strings.Replace(rt.pattern, " ", " "+Prefix, 1)] {
			t.Errorf("route %s is in the table but not on the mux", rt.pattern)
		}
	}
	documented := map[string]bool{}
	for path, ops := range loadDoc(t).Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for p := range routed {
		if !documented[p] {
			t.Errorf("route %s is not in the OpenAPI document", p)
		}
	}
	for p := range documented {
		if !routed[p] {
			t.Errorf("the OpenAPI document has %s, which no route serves", p)
		}
	}
	if len(routed) < 45 {
		t.Errorf("only %d routes: the route table lost some", len(routed))
	}
}

// TestOpenAPIDocument checks the served document and its self-consistency:
// every $ref resolves, every operation has a success answer and a 500.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.NewURL(t, "sqlite"))
	res := f.do(t, req{method: "GET", path: "/openapi.json"}).want(t, 200)
	if res.body != string(openAPIDocument()) {
		t.Error("the served document differs from openAPIDocument()")
	}
	var raw map[string]any
	res.decode(t, &raw)
	if raw["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", raw["openapi"])
	}
	d := loadDoc(t)
	var refs func(v any)
	refs = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, ok := d.Components.Schemas[strings.TrimPrefix(r, "#/components/schemas/")]; !ok {
					t.Errorf("dangling $ref %s", r)
				}
			}
			for _, e := range v {
				refs(e)
			}
		case []any:
			for _, e := range v {
				refs(e)
			}
		}
	}
	refs(raw)
	for path, ops := range d.Paths {
		for method, op := range ops {
			ok := false
			for s := range op.Responses {
				ok = ok || strings.HasPrefix(s, "2")
			}
			if !ok || op.Responses["500"] == nil || op.Summary == "" {
				t.Errorf("%s %s: needs a summary, a 2xx and a 500 answer", method, path)
			}
		}
	}
}

// TestSchemaValidator checks the validator itself, so that a passing
// schema check means something.
func TestSchemaValidator(t *testing.T) {
	t.Parallel()
	d := loadDoc(t)
	tests := []struct {
		name, schema, body string
		ok                 bool
	}{
		{"a valid recipient", "Recipient", `{"id":1,"owner_id":2,"email":"a@b.cd","first_name":"","last_name":"","middle_name":"","comment":"","tags":["vip"],"fields":{"city":"Moscow","age":42,"vip":true},"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`, true},
		{"a missing field", "Recipient", `{"id":1,"owner_id":2,"first_name":"","last_name":"","middle_name":"","comment":"","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`, false},
		{"an undocumented field", "Stats", `{"mailings_total":1,"mailings_active":0,"recipients_unique":0,"messages_sent":0,"attempts_success":0,"attempts_failure":0,"extra":1}`, false},
		{"a string for an integer", "Counts", `{"sent":"1","failed":0,"pending":0,"unknown":0,"cancelled":0,"suppressed":0,"bounced":0,"complained":0}`, false},
		{"a fraction for an integer", "Counts", `{"sent":1.5,"failed":0,"pending":0,"unknown":0,"cancelled":0,"suppressed":0,"bounced":0,"complained":0}`, false},
		{"a bad date-time", "Token", `{"id":1,"name":"","prefix":"ss_","created_at":"yesterday","last_used_at":null}`, false},
		{"null where allowed", "Token", `{"id":1,"name":"","prefix":"ss_","created_at":"2025-01-02T03:04:05Z","last_used_at":null}`, true},
		{"null where not allowed", "Token", `{"id":1,"name":"","prefix":"ss_","created_at":null,"last_used_at":null}`, false},
		{"a value outside the enum", "Attempt", `{"id":1,"delivery_id":1,"run_id":1,"email":"","attempted_at":"2025-01-02T03:04:05Z","status":"maybe","code":250,"enhanced":"","response":""}`, false},
		{"a bad item through $ref", "RunList", `{"items":[{"id":1}],"total":1,"page":1,"per_page":50}`, false},
		{"an error", "Error", `{"error":{"code":"not_found","message":"Not found.","fields":{}}}`, true},
		{"an error with a bad code", "Error", `{"error":{"code":"oops","message":"x","fields":{}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
				t.Fatal(err)
			}
			errs := d.validate(map[string]any{"$ref": "#/components/schemas/" + tt.schema}, v, "$")
			if (len(errs) == 0) != tt.ok {
				t.Errorf("valid = %v, want %v: %v", len(errs) == 0, tt.ok, errs)
			}
		})
	}
}

// doc is the part of the OpenAPI document the tests read.
type doc struct {
	Paths      map[string]map[string]docOp `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`

	routes []docRoute
}

type docOp struct {
	Summary   string `json:"summary"`
	Responses map[string]*struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// docRoute matches request paths to a documented path.
type docRoute struct {
	path string
	re   *regexp.Regexp
	vars int
}

var (
	docOnce   sync.Once
	parsedDoc *doc
	docErr    error
)

// loadDoc parses openAPIDocument once per test binary.
func loadDoc(t *testing.T) *doc {
	t.Helper()
	docOnce.Do(func() {
		d := &doc{}
		if docErr = json.Unmarshal(openAPIDocument(), d); docErr != nil {
			return
		}
		for p := range d.Paths {
			expr := regexp.QuoteMeta(p)
			vars := strings.Count(p, "{")
			expr = regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(expr, `[^/]+`)
			d.routes = append(d.routes, docRoute{path: p, re: regexp.MustCompile("^" + expr + "$"), vars: vars})
		}
		// A literal segment wins over a wildcard, as in http.ServeMux.
		sort.Slice(d.routes, func(i, j int) bool { return d.routes[i].vars < d.routes[j].vars })
		parsedDoc = d
	})
	if docErr != nil {
		t.Fatalf("OpenAPI document: %v", docErr)
	}
	return parsedDoc
}

// checkSchema validates a JSON answer against the document: the schema of
// its route and status, or Error for an error of no documented route.
func checkSchema(t *testing.T, q req, res resp) {
	t.Helper()
	if res.body == "" || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		return
	}
	d := loadDoc(t)
	what := q.method + " " + q.path
	path := strings.SplitN(q.path, "?", 2)[0]
	var sch map[string]any
	for _, r := range d.routes {
		if !r.re.MatchString(path) {
			continue
		}
		op, ok := d.Paths[r.path][strings.ToLower(q.method)]
		if !ok {
			continue // 405, or another route's method
		}
		rs := op.Responses[strconv.Itoa(res.status)]
		if rs == nil {
			t.Errorf("%s: status %d is not documented for %s %s", what, res.status, q.method, r.path)
			return
		}
		c, ok := rs.Content["application/json"]
		if !ok {
			t.Errorf("%s: status %d has no JSON body in the document", what, res.status)
			return
		}
		sch = c.Schema
		break
	}
	if sch == nil {
		if res.status < 400 {
			t.Errorf("%s: %d answered by no documented route", what, res.status)
			return
		}
		sch = map[string]any{"$ref": "#/components/schemas/Error"}
	}
	var v any
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		return // checkEnvelope reports it
	}
	for _, e := range d.validate(sch, v, "$") {
		t.Errorf("%s: %d answer does not fit the document: %s", what, res.status, e)
	}
}

// validate checks v against the JSON Schema subset the document uses:
// $ref, anyOf, type (a name or a list), enum, format date-time, properties,
// required, additionalProperties (false or a schema) and items.
func (d *doc) validate(s map[string]any, v any, at string) []string {
	if r, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		target, ok := d.Components.Schemas[name]
		if !ok {
			return []string{at + ": unknown $ref " + r}
		}
		return d.validate(target, v, at)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			errs := d.validate(alt.(map[string]any), v, at)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{at + ": fits none of anyOf: " + strings.Join(all, "; ")}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, e := range t {
				types = append(types, e.(string))
			}
		}
		if !hasType(types, v) {
			return []string{fmt.Sprintf("%s: %v is not of type %v", at, brief(v), types)}
		}
	}
	if v == nil {
		return nil
	}
	var errs []string
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || x == v
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, brief(v), e))
		}
	}
	if s["format"] == "date-time" {
		if str, ok := v.(string); ok {
			if tm, err := time.Parse(time.RFC3339, str); err != nil || !strings.HasSuffix(str, "Z") || tm.Location() != time.UTC {
				errs = append(errs, fmt.Sprintf("%s: %q is not an RFC 3339 time in UTC", at, str))
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := v[r]; !ok {
				errs = append(errs, at+": lacks "+r)
			}
		}
		for k, e := range v {
			if p, ok := props[k]; ok {
				errs = append(errs, d.validate(p.(map[string]any), e, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, at+": undocumented property "+k)
				}
			case map[string]any:
				errs = append(errs, d.validate(ap, e, at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range v {
				errs = append(errs, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func hasType(types []string, v any) bool {
	for _, t := range types {
		switch t {
		case "null":
			if v == nil {
				return true
			}
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "number":
			if _, ok := v.(float64); ok {
				return true
			}
		case "integer":
			// Integral, however large (a page number may be the largest int64).
			if n, ok := v.(float64); ok && n == math.Trunc(n) && !math.IsInf(n, 0) {
				return true
			}
		}
	}
	return false
}

func asStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			out = append(out, e.(string))
		}
	}
	return out
}

// brief shortens a value for a message.
func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
