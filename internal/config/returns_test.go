package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestReturnsSettings(t *testing.T) {
	c, err := load(t, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Returns; r.BounceDomain != "" || r.InboundAddr != "" || r.BouncePrefix != "bounces" || r.SoftLimit != 3 ||
		r.SoftWindow != 720*time.Hour || r.Retention != 720*time.Hour {
		t.Errorf("defaults %+v", r)
	}
	c, err = load(t, map[string]string{"SIMPLESENDER_BOUNCE_DOMAIN": "Bounce.Example.com", "SIMPLESENDER_INBOUND_ADDR": ":2525",
		"SIMPLESENDER_ABUSE_ADDRESS": "abuse@bounce.example.com", "SIMPLESENDER_SOFT_BOUNCE_LIMIT": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Returns; r.BounceDomain != "bounce.example.com" || r.InboundAddr != ":2525" || r.SoftLimit != 5 ||
		r.AbuseAddress != "abuse@bounce.example.com" {
		t.Errorf("given %+v", r)
	}
	if r := c.Returns; r.Mailbox != nil || r.MailboxInterval != time.Minute || r.InboundRate != 600 {
		t.Errorf("mailbox defaults %+v", r)
	}
	c, err = load(t, map[string]string{"SIMPLESENDER_BOUNCE_MAILBOX": "imaps://bounces%40example.com:pw@imap.example.com/INBOX?move=Done",
		"SIMPLESENDER_BOUNCE_MAILBOX_INTERVAL": "30s", "SIMPLESENDER_INBOUND_RATE": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Returns; r.Mailbox == nil || r.Mailbox.User != "bounces@example.com" || r.Mailbox.MoveTo != "Done" ||
		r.Mailbox.Host != "imap.example.com:993" || r.MailboxInterval != 30*time.Second || r.InboundRate != 0 {
		t.Errorf("mailbox given %+v", r)
	}
	for _, bad := range []struct{ env map[string]string }{
		{map[string]string{"SIMPLESENDER_BOUNCE_DOMAIN": "not a domain"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_DOMAIN": "localhost"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_PREFIX": "a+b"}},
		{map[string]string{"SIMPLESENDER_INBOUND_ADDR": ":2525"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_DOMAIN": "b.example.com", "SIMPLESENDER_INBOUND_ADDR": "2525"}},
		{map[string]string{"SIMPLESENDER_ABUSE_ADDRESS": "Abuse Desk <abuse@example.com>"}},
		{map[string]string{"SIMPLESENDER_SOFT_BOUNCE_LIMIT": "0"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_ALERT_RATE": "0"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_ALERT_RATE": "2 percent"}},
		{map[string]string{"SIMPLESENDER_SOFT_BOUNCE_WINDOW": "forever"}},
		{map[string]string{"SIMPLESENDER_INBOUND_RETENTION": "-1h"}},
		{map[string]string{"SIMPLESENDER_INBOUND_RATE": "-5"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_MAILBOX": "imaps://mail.example.com/INBOX"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_MAILBOX": "pop3s://u:p@mail.example.com?move=Done"}},
		{map[string]string{"SIMPLESENDER_BOUNCE_MAILBOX_INTERVAL": "10ms"}},
	} {
		_, err := load(t, bad.env)
		if err == nil {
			t.Errorf("%v accepted", bad.env)
			continue
		}
		named := false
		for k := range bad.env {
			named = named || strings.Contains(err.Error(), k)
		}
		if !named {
			t.Errorf("%v: error %q names no variable given", bad.env, err)
		}
	}
}
