package api

import (
	"sort"

	"simplesender"
)

// The JSON Schema builders and the parameters of the OpenAPI document.

// schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses).
type schema = map[string]any

func str() schema      { return schema{"type": "string"} }
func integer() schema  { return schema{"type": "integer"} }
func number() schema   { return schema{"type": "number"} }
func boolean() schema  { return schema{"type": "boolean"} }
func dateTime() schema { return schema{"type": "string", "format": "date-time"} }
func ref(name string) schema {
	return schema{"$ref": "#/components/schemas/" + name}
}
func arr(items schema) schema { return schema{"type": "array", "items": items} }
func enum(values ...string) schema {
	return schema{"type": "string", "enum": values}
}

// described is s with a description.
func described(s schema, text string) schema {
	s["description"] = text
	return s
}

// enumOf is enum over the values of one of the domain's lists.
func enumOf[S ~string](values []S) schema {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return enum(out...)
}

// counterProperties are the counts of the delivery states, one integer per
// counter (simplesender.DeliveryCounts).
func counterProperties() map[string]schema {
	props := map[string]schema{simplesender.CountPending.String(): integer()}
	for _, c := range simplesender.FinalCounters {
		props[c.String()] = integer()
	}
	return props
}

func strMap() schema { return schema{"type": "object", "additionalProperties": str()} }

// nullable returns s that also admits null.
func nullable(s schema) schema {
	if t, ok := s["type"].(string); ok {
		out := schema{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []string{t, "null"}
		return out
	}
	return schema{"anyOf": []any{s, schema{"type": "null"}}}
}

// object is an answer's object: every property is always present.
func object(props map[string]schema) schema {
	req := make([]string, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	sort.Strings(req)
	return schema{"type": "object", "properties": props, "required": req, "additionalProperties": false}
}

// input is a request body: only the named properties are required, and
// unknown ones are refused (400).
func input(props map[string]schema, required ...string) schema {
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// with returns a copy of props with more properties.
func with(props map[string]schema, more map[string]schema) map[string]schema {
	out := map[string]schema{}
	for k, v := range props {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// listOf is the list envelope of items.
func listOf(items schema) schema {
	return object(map[string]schema{"items": arr(items), "total": integer(), "page": integer(), "per_page": integer(), "pages": integer()})
}

// param is a parameter of an operation.
type param struct {
	name, in, desc string
	schema         schema
}

func query(name, desc string, s schema) param {
	return param{name: name, in: "query", desc: desc, schema: s}
}

var (
	pageParams = []param{
		query("page", "Page number, a whole number from 1 (anything else is 400 naming page). A page past the last is an empty list with the total.",
			schema{"type": "integer", "minimum": 1, "default": 1}),
		query("per_page", "Items per page, a whole number from 1 (anything else is 400 naming per_page); more than 500 counts as 500.",
			schema{"type": "integer", "minimum": 1, "default": 50}),
	}
	searchParam = query("q", "Case-insensitive search (part of the text).", schema{"type": "string", "maxLength": maxQueryLen})
	ownerParam  = query("owner_id", "Managers and admins: only this user's objects. A regular user's lists are their own.", integer())
	bomParam    = query("bom", "1 starts the file with a UTF-8 byte order mark, for Excel.", schema{"type": "boolean", "default": false})
	periodParam = []param{
		query("from", "First day, YYYY-MM-DD, in the caller's time zone (default: 29 days before to).", schema{"type": "string", "format": "date"}),
		query("to", "Last day, YYYY-MM-DD (default: today, or 29 days after from).", schema{"type": "string", "format": "date"}),
	}
	suppressionReasonParam = query("reason", "Only this reason.", enumOf(simplesender.SuppressionReasons))
	serviceWideParam       = query("service_wide", "Managers and admins: only the service-wide list (with import and POST: admins add to it).", schema{"type": "boolean", "default": false})
	separatorParam         = query("separator", "Cell separator: , ; | or tab.", enum(",", ";", "|", "tab"))
)

// sortParam is ?sort= over the allowed fields.
func sortParam(fields []string) param {
	values := []string{}
	for _, f := range fields {
		values = append(values, f, "-"+f)
	}
	return query("sort", "Sort field; a leading - sorts descending. Any other value is 422 with the field sort.", enum(values...))
}

// listParams are the parameters of a list of owned objects.
func listParams(sorts []string) []param {
	return append([]param{searchParam, sortParam(sorts), ownerParam}, pageParams...)
}
