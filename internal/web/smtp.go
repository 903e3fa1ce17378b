package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"simplesender"
)

// smtpData is the admins' page of sending settings.
type smtpData struct {
	Servers   []smtpRow
	OutboxDir string
	Conns     int
	Retry     string // such as "1m, 5m, 15m"
}

type smtpRow struct {
	simplesender.SMTPServerStatus
	TLSKey  string // message key of the TLS mode
	Idle    string // the idle timeout, such as "15s"
	Rate    string // messages per second, such as "0.5"; empty: no limit
	Resting bool
}

// tlsKeys are the message keys of the TLS modes.
var tlsKeys = map[string]string{
	simplesender.SMTPTLS:              "smtp.tls.tls",
	simplesender.SMTPStartTLS:         "smtp.tls.starttls",
	simplesender.SMTPStartTLSOptional: "smtp.tls.starttls_optional",
	simplesender.SMTPNoTLS:            "smtp.tls.none",
}

// smtpSettings shows admins how e-mail is sent: each SMTP server with its
// limits and how it is doing, or the outbox folder. app refuses anyone else
// (403).
func (s *Server) smtpSettings(w http.ResponseWriter, r *http.Request) {
	rc := reqCtx(r)
	st, err := s.app.SMTPSettings(r.Context(), rc.actor())
	if err != nil {
		s.fail(w, r, err, "", nil)
		return
	}
	d := smtpData{OutboxDir: st.OutboxDir, Conns: st.Conns}
	waits := make([]string, len(st.Retry))
	for i, w := range st.Retry {
		waits[i] = shortDuration(w)
	}
	d.Retry = strings.Join(waits, ", ")
	for _, sv := range st.Servers {
		row := smtpRow{SMTPServerStatus: sv, TLSKey: tlsKeys[sv.TLS], Idle: shortDuration(sv.IdleTimeout),
			Resting: sv.State == simplesender.SMTPServerResting}
		if sv.Limited() {
			row.Rate = strconv.FormatFloat(sv.Rate, 'f', -1, 64)
		}
		d.Servers = append(d.Servers, row)
	}
	s.render(w, r, http.StatusOK, "smtp", &Page{Title: "page.smtp.title", Nav: "smtp", Data: d})
}

// shortDuration writes d as 90s, 5m, 1h30m: without the zero units of
// time.Duration's String.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
