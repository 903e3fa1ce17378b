package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"simplesender/internal/bounce"
)

// maxWebhookBody bounds a provider webhook's body.
const maxWebhookBody = 1 << 20

// hooks serves POST /hooks/{provider}: the bounce and complaint webhooks
// of sending providers. Each is off (404) until configured; a request
// whose signature or credentials do not check out gets 401 and changes
// nothing; one that does is stored before the 200, then read like a
// returned e-mail.
type hooks struct {
	s           *Server
	sns         *bounce.SNS
	sendgridKey *ecdsa.PublicKey
	client      *http.Client // for SNS subscription confirmations
}

func newHooks(s *Server) (*hooks, error) {
	w := s.Cfg.Returns.Webhooks
	h := &hooks{s: s, client: &http.Client{Timeout: 10 * time.Second}}
	if len(w.SESTopics) > 0 {
		h.sns = &bounce.SNS{Topics: w.SESTopics}
	}
	if w.SendGridKey != "" {
		k, err := bounce.SendGridKey(w.SendGridKey)
		if err != nil {
			return nil, err
		}
		h.sendgridKey = k
	}
	return h, nil
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	provider := r.PathValue("provider")
	cfg := h.s.Cfg.Returns.Webhooks
	on := map[string]bool{"ses": h.sns != nil, "postmark": cfg.PostmarkPassword != "", "sendgrid": h.sendgridKey != nil,
		"mailgun": cfg.MailgunKey != "", "generic": cfg.Secret != ""}
	if !on[provider] {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if len(body) > maxWebhookBody {
		http.Error(w, "the body is too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now()
	switch provider {
	case "ses":
		var m *bounce.SNSMessage
		if m, err = h.sns.Verify(r.Context(), body); err == nil {
			switch m.Type {
			case "SubscriptionConfirmation":
				h.confirm(w, r.Context(), m)
				return
			case "UnsubscribeConfirmation":
				w.WriteHeader(http.StatusOK)
				return
			}
		}
	case "postmark":
		user, pass, _ := r.BasicAuth()
		err = bounce.VerifyPostmark(user, pass, cfg.PostmarkUser, cfg.PostmarkPassword)
	case "sendgrid":
		err = bounce.VerifySendGrid(body, r.Header.Get("X-Twilio-Email-Event-Webhook-Signature"),
			r.Header.Get("X-Twilio-Email-Event-Webhook-Timestamp"), h.sendgridKey, now)
	case "mailgun":
		err = bounce.VerifyMailgun(body, []byte(cfg.MailgunKey), now)
	case "generic":
		err = bounce.VerifyGeneric(body, r.Header.Get(bounce.GenericSignatureHeader), []byte(cfg.Secret), now)
	}
	if err == nil {
		_, err = bounce.ParseWebhook(provider, body)
		if err != nil {
			err = errUnreadable{err}
		}
	}
	switch {
	case errors.Is(err, bounce.ErrSignature):
		h.refuse(w, provider, "signature", http.StatusUnauthorized)
		return
	case errors.Is(err, bounce.ErrStale):
		h.refuse(w, provider, "stale", http.StatusUnauthorized)
		return
	case err != nil:
		h.s.Log.Info("webhook refused", "provider", provider, "err", err)
		h.refuse(w, provider, "unreadable", http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	if err := h.s.App.SaveWebhook(r.Context(), provider, hex.EncodeToString(sum[:16]), remote, body); err != nil {
		h.s.Log.Warn("webhook not stored; the provider will retry", "provider", provider, "err", err)
		http.Error(w, "cannot store it now", http.StatusServiceUnavailable)
		return
	}
	h.s.kickReturns()
	w.WriteHeader(http.StatusOK)
}

type errUnreadable struct{ error }

func (h *hooks) refuse(w http.ResponseWriter, provider, reason string, code int) {
	h.s.metrics.refused.WithLabelValues(provider, reason).Inc()
	http.Error(w, http.StatusText(code), code)
}

// confirm visits an SNS subscription's confirmation address (checked to
// be SNS's own).
func (h *hooks) confirm(w http.ResponseWriter, ctx context.Context, m *bounce.SNSMessage) {
	u, err := m.ConfirmURL()
	if err != nil {
		h.refuse(w, "ses", "signature", http.StatusUnauthorized)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err == nil {
		var res *http.Response
		if res, err = h.client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				err = errors.New(res.Status)
			}
		}
	}
	if err != nil {
		h.s.Log.Warn("SNS subscription not confirmed", "topic", m.TopicArn, "err", err)
		http.Error(w, "cannot confirm the subscription now", http.StatusBadGateway)
		return
	}
	h.s.Log.Info("SNS subscription confirmed", "topic", m.TopicArn)
	w.WriteHeader(http.StatusOK)
}
