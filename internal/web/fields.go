package web

import (
	"net/http"
	"strconv"

	"simplesender"
	"simplesender/internal/app"
)

// Custom fields: /fields lists the viewer's fields with a form to define
// one; each can be renamed and deleted. Their values are edited on the
// recipient form.

type fieldsData struct {
	Fields []*simplesender.Field
	Owners map[int64]string // staff: owner id -> e-mail
	Types  []simplesender.FieldType
	Max    int
}

func (s *Server) fields(w http.ResponseWriter, r *http.Request) {
	s.fieldsPage(w, r, http.StatusOK, nil)
}

// fieldsPage renders the fields with the create form, and fail's problems.
func (s *Server) fieldsPage(w http.ResponseWriter, r *http.Request, status int, fail error) {
	rc := reqCtx(r)
	items, err := s.app.ListFields(r.Context(), rc.actor(), 0)
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	owners := make([]int64, len(items))
	for i, f := range items {
		owners[i] = f.OwnerID
	}
	p := &Page{Title: "page.fields.title", Nav: "recipients",
		Form: map[string]string{"key": r.PostFormValue("key"), "name": r.PostFormValue("name"), "type": r.PostFormValue("type")},
		Data: fieldsData{Fields: items, Owners: s.ownerEmails(r.Context(), rc.actor(), owners), Types: simplesender.FieldTypes,
			Max: simplesender.MaxFields}}
	if fail != nil {
		s.fail(w, r, fail, "fields", p)
		return
	}
	s.render(w, r, status, "fields", p)
}

func (s *Server) createField(w http.ResponseWriter, r *http.Request) {
	f := &simplesender.Field{Key: r.PostFormValue("key"), Name: r.PostFormValue("name"), Type: simplesender.FieldType(r.PostFormValue("type"))}
	if err := s.app.CreateField(r.Context(), reqCtx(r).actor(), f); err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			s.fieldsPage(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/fields", "success", "flash.field_created")
}

func (s *Server) renameField(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.app.RenameField(r.Context(), reqCtx(r).actor(), id, r.PostFormValue("name")); err != nil {
		if simplesender.IsKind(err, simplesender.KindInvalid) {
			s.redirectFlash(w, r, "/fields", "error", "error.field.name")
			return
		}
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/fields", "success", "flash.field_saved")
}

func (s *Server) deleteFieldForm(w http.ResponseWriter, r *http.Request) {
	f, ok := loadByID(s, w, r, s.app.GetField)
	if !ok || s.refused(w, r, app.ActDelete, f.OwnerID) {
		return
	}
	s.render(w, r, http.StatusOK, "confirm_delete", &Page{Title: "page.field_delete.title", Nav: "recipients",
		Data: confirmData{Question: "fields.delete_confirm", What: f.Name + " ({{" + f.Key + "}})",
			Action: "/fields/" + strconv.FormatInt(f.ID, 10) + "/delete", Cancel: "/fields"}})
}

func (s *Server) deleteField(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.app.DeleteField(r.Context(), reqCtx(r).actor(), id); err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.redirectFlash(w, r, "/fields", "success", "flash.field_deleted")
}

// formField is a custom field on the recipient form.
type formField struct {
	*simplesender.Field
	Name string // the form's input name: fields.KEY
}

// recipientFormFields returns the custom fields of owner (the viewer's
// when 0) for the recipient form.
func (s *Server) recipientFormFields(r *http.Request, owner int64) []formField {
	rc := reqCtx(r)
	if owner == 0 {
		owner = rc.User.ID
	}
	fields, err := s.app.ListFields(r.Context(), rc.actor(), owner)
	if err != nil {
		return nil
	}
	out := make([]formField, 0, len(fields))
	for _, f := range fields {
		if f.OwnerID == owner {
			out = append(out, formField{Field: f, Name: "fields." + f.Key})
		}
	}
	return out
}
