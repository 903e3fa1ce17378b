package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"simplesender"
	"simplesender/internal/mailer"
)

// TestWhichFailuresCountAgainstAServer: what the server did wrong counts
// towards resting it; what it said about one recipient or message does not.
func TestWhichFailuresCountAgainstAServer(t *testing.T) {
	t.Parallel()
	reply := func(stage string, code int) error {
		return &mailer.SMTPError{Code: code, Stage: stage, Temporary: code/100 == 4}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &mailer.SMTPError{Stage: mailer.StageConnect, Temporary: true, Err: errors.New("connection refused")}, true},
		{"greeting refused", reply(mailer.StageConnect, 554), true},
		{"EHLO refused", reply(mailer.StageHelo, 501), true},
		{"TLS handshake failed", &mailer.SMTPError{Stage: mailer.StageStartTLS, Temporary: true, Err: errors.New("bad certificate")}, true},
		{"bad credentials", reply(mailer.StageAuth, 535), true},
		{"busy at MAIL", reply(mailer.StageMail, 451), true},
		{"closing at RCPT", reply(mailer.StageRcpt, 421), true},
		{"timeout waiting for the data's reply", &mailer.SMTPError{Stage: mailer.StageDataEnd, AfterData: true,
			Err: fmt.Errorf("%w: i/o timeout", context.DeadlineExceeded)}, true},
		{"connection dropped at RCPT", &mailer.SMTPError{Stage: mailer.StageRcpt, Temporary: true, Err: io.EOF}, true},
		{"no such recipient", reply(mailer.StageRcpt, 550), false},
		{"mailbox full", reply(mailer.StageRcpt, 452), false},
		{"message refused", reply(mailer.StageDataEnd, 554), false},
		{"message deferred", reply(mailer.StageDataEnd, 451), false},
		{"DATA refused", reply(mailer.StageData, 554), false},
		{"our own shutdown", &mailer.SMTPError{Stage: mailer.StageMail, Temporary: true, Err: context.Canceled}, false},
		{"waiting for a free connection timed out", context.DeadlineExceeded, false},
		{"invalid recipient address", simplesender.Invalid(map[string]string{"to": "error.email.invalid"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := serverFault(tt.err); got != tt.want {
				t.Errorf("serverFault(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestWhatAStaleConnectionGives: the failures that a reused connection the
// server closed while idle gives, and nothing else, send the message once
// more on a new connection.
func TestWhatAStaleConnectionGives(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mailer.SMTPError{Stage: mailer.StageMail, Code: 421, Enhanced: "4.4.2", Temporary: true}, true},
		{&mailer.SMTPError{Stage: mailer.StageMail, Err: io.EOF, Temporary: true}, true},
		{&mailer.SMTPError{Stage: mailer.StageNoop, Code: 421, Temporary: true}, true},
		{&mailer.SMTPError{Stage: mailer.StageReset, Err: io.EOF, Temporary: true}, true},
		{&mailer.SMTPError{Stage: mailer.StageMail, Code: 451, Temporary: true}, false},
		{&mailer.SMTPError{Stage: mailer.StageMail, Code: 550}, false},
		{&mailer.SMTPError{Stage: mailer.StageRcpt, Code: 421, Temporary: true}, false},
		{&mailer.SMTPError{Stage: mailer.StageDataEnd, Err: io.EOF, AfterData: true}, false},
		{errors.New("not SMTP"), false},
	} {
		if got := stale(c.err); got != c.want {
			t.Errorf("stale(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
