package api

import (
	"net/http"

	"simplesender"
)

// sendingSettings is the JSON form of simplesender.SendingSettings.
type sendingSettings struct {
	FooterText    string `json:"footer_text"`
	PostalAddress string `json:"postal_address"`
}

// getSending answers the caller's sending settings.
func (x *API) getSending(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	st, err := x.app.SendingSettings(r.Context(), as(u))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, sendingSettings{st.FooterText, st.PostalAddress})
	return nil
}

// putSending replaces the caller's sending settings; a field left out is
// emptied (back to the default). Errors: Invalid (footer_text,
// postal_address).
func (x *API) putSending(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var req sendingSettings
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := x.app.SetSendingSettings(r.Context(), as(u), simplesender.SendingSettings{FooterText: req.FooterText,
		PostalAddress: req.PostalAddress})
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, sendingSettings{st.FooterText, st.PostalAddress})
	return nil
}
