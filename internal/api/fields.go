package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"simplesender"
)

// fieldJSON is a custom field as the API shows it.
type fieldJSON struct {
	ID        int64  `json:"id"`
	OwnerID   int64  `json:"owner_id"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Position  int    `json:"position"`
	CreatedAt string `json:"created_at"`
}

func fieldOf(f *simplesender.Field) fieldJSON {
	return fieldJSON{ID: f.ID, OwnerID: f.OwnerID, Key: f.Key, Name: f.Name, Type: string(f.Type), Position: f.Position,
		CreatedAt: timeJSON(f.CreatedAt)}
}

// fieldInput is the body of POST /fields; PATCH takes only the name.
type fieldInput struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// fieldPatch is the body of PATCH /fields/{id}.
type fieldPatch struct {
	Name string `json:"name"`
}

// listFields answers the custom fields in their order: the caller's own,
// everyone's for staff (?owner_id= narrows it). Errors: BadRequest.
func (x *API) listFields(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var owner int64
	if s := r.URL.Query().Get("owner_id"); s != "" {
		var err error
		if owner, err = strconv.ParseInt(s, 10, 64); err != nil || owner <= 0 {
			return simplesender.Invalid(map[string]string{"owner_id": "error.invalid"})
		}
	}
	items, err := x.app.ListFields(r.Context(), as(u), owner)
	if err != nil {
		return err
	}
	out := struct {
		Items []fieldJSON `json:"items"`
	}{Items: make([]fieldJSON, 0, len(items))}
	for _, f := range items {
		out.Items = append(out.Items, fieldOf(f))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createField defines a custom field and answers 201 with it. Errors:
// BadRequest, Invalid (key, name, type; the limit), Forbidden (managers).
func (x *API) createField(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in fieldInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	f := &simplesender.Field{Key: in.Key, Name: in.Name, Type: simplesender.FieldType(in.Type)}
	if err := x.app.CreateField(r.Context(), as(u), f); err != nil {
		return err
	}
	created(w, "/fields/", f.ID)
	x.reply(w, http.StatusCreated, fieldOf(f))
	return nil
}

// getField answers one field. Errors: NotFound.
func (x *API) getField(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	f, err := x.app.GetField(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.replyObject(w, r, fieldOf(f))
	return nil
}

// patchField renames a field. Errors: BadRequest, Invalid, NotFound,
// Forbidden.
func (x *API) patchField(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in fieldPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	f, err := x.app.RenameField(r.Context(), as(u), id, in.Name)
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, fieldOf(f))
	return nil
}

// deleteField removes a field with its values and answers 204. Errors:
// NotFound, Forbidden.
func (x *API) deleteField(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteField(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// fieldTypes maps the keys of the fields of the owners of rs to their
// types, per owner, for typed values in answers.
func (x *API) fieldTypes(r *http.Request, u *simplesender.User, rs ...*simplesender.Recipient) (map[int64]map[string]simplesender.FieldType, error) {
	out := map[int64]map[string]simplesender.FieldType{}
	for _, rec := range rs {
		if _, ok := out[rec.OwnerID]; ok || len(rec.Fields) == 0 {
			continue
		}
		fields, err := x.app.ListFields(r.Context(), as(u), rec.OwnerID)
		if err != nil {
			return nil, err
		}
		m := map[string]simplesender.FieldType{}
		for _, f := range fields {
			if f.OwnerID == rec.OwnerID {
				m[f.Key] = f.Type
			}
		}
		out[rec.OwnerID] = m
	}
	return out, nil
}

// typedValues returns a recipient's values as JSON values: numbers as
// numbers, yes/no as booleans, text and dates (YYYY-MM-DD) as strings.
func typedValues(vals map[string]string, types map[string]simplesender.FieldType) map[string]any {
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		switch types[k] {
		case simplesender.FieldNumber:
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = n
				continue
			}
		case simplesender.FieldBool:
			out[k] = v == "true"
			continue
		}
		out[k] = v
	}
	return out
}

// valueText turns a JSON value of "fields" into the text the app checks:
// null removes the value. Errors: Invalid (fields.KEY) for arrays and
// objects.
func valueText(key string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case json.Number:
		return v.String(), nil
	}
	return "", simplesender.Invalid(map[string]string{"fields." + key: "error.json.type"})
}
