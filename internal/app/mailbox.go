package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"simplesender/internal/store"
)

// SourceMailbox: a bounce or complaint fetched from the bounce mailbox
// (IMAP or POP3).
const SourceMailbox = "mailbox"

// SaveFromMailbox keeps a message fetched from the bounce mailbox durably,
// before anything is read from it, and reports whether it was new. The
// same bytes are kept once: a message fetched again because the service
// stopped between keeping it and deleting it on the server is not applied
// twice. The envelope recipients, which a mailbox does not keep, are read
// from the headers a delivering server adds (Delivered-To, X-Original-To,
// Envelope-To), so that a VERP address still names the delivery.
func (a *App) SaveFromMailbox(ctx context.Context, mailbox string, raw []byte) (bool, error) {
	sum := sha256.Sum256(raw)
	m := &store.InboundMessage{Source: SourceMailbox, ReceivedAt: a.Now(), Remote: mailbox,
		EnvelopeTo: strings.Join(envelopeRecipients(raw), ","), EventID: hex.EncodeToString(sum[:]), Raw: raw}
	return a.DB.Store().SaveInbound(ctx, m)
}

// envelopeRecipients returns the addresses of the Delivered-To,
// X-Original-To and Envelope-To headers of a message, at most ten.
func envelopeRecipients(raw []byte) []string {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil
	}
	var out []string
	for _, k := range []string{"Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, v := range h.Values(k) {
			v = strings.TrimSpace(v)
			if a, err := mail.ParseAddress(v); err == nil {
				v = a.Address
			}
			if v != "" && !strings.ContainsAny(v, ", \t") && len(out) < 10 {
				out = append(out, v)
			}
		}
	}
	return out
}

// TakeLease gives the lease name to holder for d when it is free, expired
// or holder's already; it reports whether holder has it. It makes one
// instance at a time do work such as polling the bounce mailbox.
func (a *App) TakeLease(ctx context.Context, name, holder string, d time.Duration) (bool, error) {
	now := a.Now()
	return a.DB.Store().TakeLease(ctx, name, holder, now, now.Add(d))
}

// DropLease lets the lease name go when holder has it.
func (a *App) DropLease(ctx context.Context, name, holder string) error {
	return a.DB.Store().DropLease(ctx, name, holder)
}
