package config

import (
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"simplesender/internal/mailbox"
)

// The variables of what comes back after sending (bounces, complaints).
const (
	EnvBounceDomain     = "SIMPLESENDER_BOUNCE_DOMAIN"
	EnvBouncePrefix     = "SIMPLESENDER_BOUNCE_PREFIX"
	EnvInboundAddr      = "SIMPLESENDER_INBOUND_ADDR"
	EnvAbuseAddress     = "SIMPLESENDER_ABUSE_ADDRESS"
	EnvSoftBounceLimit  = "SIMPLESENDER_SOFT_BOUNCE_LIMIT"
	EnvSoftBounceWindow = "SIMPLESENDER_SOFT_BOUNCE_WINDOW"
	EnvInboundRetention = "SIMPLESENDER_INBOUND_RETENTION"
	EnvInboundRate      = "SIMPLESENDER_INBOUND_RATE"
	EnvBounceMailbox    = "SIMPLESENDER_BOUNCE_MAILBOX"
	EnvMailboxInterval  = "SIMPLESENDER_BOUNCE_MAILBOX_INTERVAL"
	EnvHookSESTopics    = "SIMPLESENDER_WEBHOOK_SES_TOPICS"
	EnvHookPostmark     = "SIMPLESENDER_WEBHOOK_POSTMARK"
	EnvHookSendGridKey  = "SIMPLESENDER_WEBHOOK_SENDGRID_KEY"
	EnvHookMailgunKey   = "SIMPLESENDER_WEBHOOK_MAILGUN_KEY"
	EnvHookSecret       = "SIMPLESENDER_WEBHOOK_SECRET"
	EnvBounceAlertRate  = "SIMPLESENDER_BOUNCE_ALERT_RATE"
)

// Webhooks holds what checks each provider's webhook; an empty field
// leaves that provider's webhook off (404).
type Webhooks struct {
	SESTopics        []string // SNS topic ARNs accepted
	PostmarkUser     string   // the basic-auth credentials put in Postmark's webhook URL
	PostmarkPassword string
	SendGridKey      string // the verification key of SendGrid's signed event webhook (base64)
	MailgunKey       string // Mailgun's HTTP webhook signing key
	Secret           string // the generic webhook's HMAC secret
}

// Returns configures how the service learns from bounces and complaints.
type Returns struct {
	// BounceDomain, when set, makes every mailing message's envelope sender
	// PREFIX+TOKEN@BounceDomain (VERP), naming its delivery.
	BounceDomain string
	BouncePrefix string
	// InboundAddr is where the inbound SMTP listener takes bounces and
	// complaints ("" for none); the bounce domain's MX points at it.
	InboundAddr string
	// InboundRate is how many messages per minute the listener takes from
	// one client IP address; 0: no limit.
	InboundRate int
	// Mailbox, when set, is a mailbox polled over IMAP or POP3 for bounces
	// and complaints every MailboxInterval.
	Mailbox         *mailbox.Config
	MailboxInterval time.Duration
	// AbuseAddress is an address the listener also accepts, for feedback
	// loops' complaints; "" for none.
	AbuseAddress string
	// An address soft-bouncing in SoftLimit sendings within SoftWindow is
	// suppressed.
	SoftLimit  int
	SoftWindow time.Duration
	// Retention is how long the raw text of what came back is kept.
	Retention time.Duration
	Webhooks  Webhooks
	// BounceAlertRate is the hard-bounce rate, in percent of the messages
	// sent over a period, above which the staff's page of senders
	// highlights a user.
	BounceAlertRate float64
}

func loadReturns(get func(key, def string) string) (Returns, error) {
	r := Returns{
		BounceDomain: strings.ToLower(strings.TrimSpace(get(EnvBounceDomain, ""))),
		BouncePrefix: strings.ToLower(strings.TrimSpace(get(EnvBouncePrefix, "bounces"))),
		InboundAddr:  strings.TrimSpace(get(EnvInboundAddr, "")),
		AbuseAddress: strings.ToLower(strings.TrimSpace(get(EnvAbuseAddress, ""))),
	}
	if r.BounceDomain != "" && !isHostname(r.BounceDomain) {
		return r, fmt.Errorf("%s: %q is not a domain name such as bounce.example.com", EnvBounceDomain, r.BounceDomain)
	}
	if !isAtom(r.BouncePrefix) {
		return r, fmt.Errorf("%s: want letters, digits, '-' or '_', such as bounces", EnvBouncePrefix)
	}
	if r.InboundAddr != "" {
		if _, _, err := net.SplitHostPort(r.InboundAddr); err != nil {
			return r, fmt.Errorf("%s: %q is not HOST:PORT, such as :2525", EnvInboundAddr, r.InboundAddr)
		}
		if r.BounceDomain == "" {
			return r, fmt.Errorf("%s needs %s: the listener accepts bounces for that domain only", EnvInboundAddr, EnvBounceDomain)
		}
	}
	if r.AbuseAddress != "" {
		if a, err := mail.ParseAddress(r.AbuseAddress); err != nil || a.Name != "" {
			return r, fmt.Errorf("%s: %q is not an e-mail address", EnvAbuseAddress, r.AbuseAddress)
		}
	}
	rate, err := strconv.Atoi(strings.TrimSpace(get(EnvInboundRate, "600")))
	if err != nil || rate < 0 {
		return r, fmt.Errorf("%s: want a number of messages per minute per client address, 0 for no limit", EnvInboundRate)
	}
	r.InboundRate = rate
	if u := strings.TrimSpace(get(EnvBounceMailbox, "")); u != "" {
		mc, err := mailbox.ParseURL(u)
		if err != nil {
			return r, fmt.Errorf("%s: %v", EnvBounceMailbox, err)
		}
		r.Mailbox = &mc
	}
	if r.MailboxInterval, err = duration(get(EnvMailboxInterval, "1m"), EnvMailboxInterval); err != nil {
		return r, err
	}
	if r.MailboxInterval < time.Second {
		return r, fmt.Errorf("%s: want at least 1s, such as 1m", EnvMailboxInterval)
	}
	n, err := strconv.Atoi(get(EnvSoftBounceLimit, "3"))
	if err != nil || n < 1 || n > 100 {
		return r, fmt.Errorf("%s: want a number of mailings from 1 to 100", EnvSoftBounceLimit)
	}
	r.SoftLimit = n
	if r.SoftWindow, err = duration(get(EnvSoftBounceWindow, "720h"), EnvSoftBounceWindow); err != nil {
		return r, err
	}
	if r.Retention, err = duration(get(EnvInboundRetention, "720h"), EnvInboundRetention); err != nil {
		return r, err
	}
	if r.BounceAlertRate, err = percent(get(EnvBounceAlertRate, "2")); err != nil {
		return r, fmt.Errorf("%s: want a percentage above 0 and up to 100, such as 2 or 0.5%%", EnvBounceAlertRate)
	}
	w := &r.Webhooks
	for _, t := range strings.FieldsFunc(get(EnvHookSESTopics, ""), func(c rune) bool { return c == ',' || c == ' ' }) {
		if !strings.HasPrefix(t, "arn:aws") {
			return r, fmt.Errorf("%s: %q is not an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:ses-feedback", EnvHookSESTopics, t)
		}
		w.SESTopics = append(w.SESTopics, t)
	}
	if pm := get(EnvHookPostmark, ""); pm != "" {
		u, p, ok := strings.Cut(pm, ":")
		if !ok || u == "" || len(p) < 16 {
			return r, fmt.Errorf("%s: want USER:PASSWORD with a password of at least 16 characters", EnvHookPostmark)
		}
		w.PostmarkUser, w.PostmarkPassword = u, p
	}
	w.SendGridKey, w.MailgunKey = strings.TrimSpace(get(EnvHookSendGridKey, "")), strings.TrimSpace(get(EnvHookMailgunKey, ""))
	if w.Secret = get(EnvHookSecret, ""); w.Secret != "" && len(w.Secret) < 16 {
		return r, fmt.Errorf("%s: must be at least 16 characters", EnvHookSecret)
	}
	return r, nil
}

// percent reads a percentage such as "2", "0.5" or "2%" (above 0, at most
// 100).
func percent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || !(v > 0 && v <= 100) {
		return 0, fmt.Errorf("bad percentage %q", s)
	}
	return v, nil
}

func isHostname(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' || !isAtom(label) ||
			strings.Contains(label, "_") {
			return false
		}
	}
	return true
}

func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
