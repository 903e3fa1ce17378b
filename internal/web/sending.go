package web

import (
	"net/http"

	"simplesender"
	"simplesender/internal/unsubscribe"
)

// sendingData is the data of the sending settings page.
type sendingData struct {
	Preview string // the footer's text as a recipient in the viewer's language sees it
}

func (s *Server) sendingSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.app.SendingSettings(r.Context(), reqCtx(r).actor())
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	s.render(w, r, http.StatusOK, "sending", s.sendingPage(r, st))
}

// sendingPage is the settings form filled with st, with the footer's preview.
func (s *Server) sendingPage(r *http.Request, st simplesender.SendingSettings) *Page {
	l := reqCtx(r).L
	note := st.FooterText
	if note == "" {
		note = l.T("unsubscribe.footer.note")
	}
	f := &unsubscribe.Footer{Note: note, Label: l.T("unsubscribe.footer.link"), Postal: st.PostalAddress}
	return &Page{Title: "page.sending.title", Nav: "profile",
		Form: map[string]string{"footer_text": st.FooterText, "postal_address": st.PostalAddress},
		Data: sendingData{Preview: f.Text(s.app.BaseURL.String() + "/u/…")[2:]}}
}

func (s *Server) saveSendingSettings(w http.ResponseWriter, r *http.Request) {
	in := simplesender.SendingSettings{FooterText: r.PostFormValue("footer_text"), PostalAddress: r.PostFormValue("postal_address")}
	if _, err := s.app.SetSendingSettings(r.Context(), reqCtx(r).actor(), in); err != nil {
		p := s.sendingPage(r, in)
		s.fail(w, r, err, "sending", p)
		return
	}
	s.redirectFlash(w, r, "/profile/sending", "success", "flash.sending_saved")
}
