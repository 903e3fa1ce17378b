package web

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"simplesender"
	"simplesender/internal/app"
)

// duplicateMailing makes a copy of the mailing in the path and opens it.
func (s *Server) duplicateMailing(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	rc := reqCtx(r)
	cp, err := s.app.DuplicateMailing(r.Context(), rc.actor(), id, rc.L.Lang())
	if err != nil {
		s.mailingFail(w, r, id, err)
		return
	}
	s.redirectFlash(w, r, "/mailings/"+strconv.FormatInt(cp.ID, 10), "success", "flash.mailing_duplicated")
}

// testMailing sends a test of the mailing in the path (see app.SendTest)
// and comes back to its page.
func (s *Server) testMailing(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	in := app.TestSendInput{ToMe: r.PostFormValue("to_me") != "", To: splitAddresses(r.PostFormValue("to"))}
	in.RecipientID, _ = strconv.ParseInt(r.PostFormValue("recipient_id"), 10, 64)
	s.mailingAction(w, r, "flash.mailing_test_sent", func(ac *app.Actor, id int64) error {
		_, err := s.app.SendTest(r.Context(), ac, id, in, rc.L.Lang())
		return err
	})
}

// splitAddresses splits what a user typed into addresses: by commas,
// semicolons, spaces and line breaks.
func splitAddresses(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}

// LastTestText says to whom and when the newest test of a mailing went.
func (p *Page) LastTestText(e *simplesender.AuditEvent) string {
	if e == nil {
		return ""
	}
	return p.L.T("mailing.test.last", "To", e.Detail, "At", p.Time(e.CreatedAt))
}
