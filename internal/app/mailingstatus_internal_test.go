package app

import (
	"strings"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/i18n"
)

func TestFailureText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		a    simplesender.Attempt
		want string
	}{
		{"enhanced code written once when the text starts with it",
			simplesender.Attempt{Code: 451, Enhanced: "4.3.0", Response: "4.3.0 mailbox busy"}, "451 4.3.0 mailbox busy"},
		{"enhanced code added when the text lacks it",
			simplesender.Attempt{Code: 450, Enhanced: "4.2.0", Response: "try later"}, "450 4.2.0 try later"},
		{"no code: the text alone, on one line",
			simplesender.Attempt{Response: "dial tcp: connection\r\nrefused"}, "dial tcp: connection refused"},
		{"a long answer is cut",
			simplesender.Attempt{Code: 421, Response: strings.Repeat("x", 500)}, "421 " + strings.Repeat("x", maxShownError-4) + "…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := failureText(&c.a); got != c.want {
				t.Errorf("failureText = %q, want %q", got, c.want)
			}
		})
	}
}

func TestStatusTextInTheViewersZone(t *testing.T) {
	t.Parallel()
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no time zone data")
	}
	now := time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC) // 23:00 in Moscow
	at := time.Date(2026, 3, 1, 21, 30, 0, 0, time.UTC) // 00:30 the next day there
	d := simplesender.StatusDetail{Phase: simplesender.PhaseScheduled, At: &at}
	if got := StatusText(b.For("en"), time.UTC, d, now); got != "scheduled for 21:30" {
		t.Errorf("same day in UTC: %q", got)
	}
	if got := StatusText(b.For("ru"), msk, d, now); got != "запланирована на 2026-03-02 00:30" {
		t.Errorf("the next day in Moscow: %q", got)
	}
	if got := StatusText(b.For("en"), time.UTC, simplesender.StatusDetail{Phase: simplesender.PhaseNew}, now); got != "" {
		t.Errorf("never sent: %q", got)
	}
}
