package bounce

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		action, status, diag string
		want                 Kind
	}{
		{"failed", "5.1.1", "550 5.1.1 user unknown", Hard},
		{"failed", "5.1.2", "bad destination system", Hard},
		{"failed", "5.1.8", "550 5.1.8 sender address rejected", Policy},
		{"failed", "5.2.1", "mailbox disabled", Hard},
		{"failed", "5.2.2", "552 5.2.2 mailbox full", Soft},
		{"failed", "5.2.3", "message length exceeds administrative limit", Policy},
		{"failed", "5.3.4", "message too big for system", Policy},
		{"failed", "5.4.4", "unable to route", Hard},
		{"failed", "5.4.7", "delivery time expired", Soft},
		{"failed", "5.5.2", "syntax error", Policy},
		{"failed", "5.6.0", "content rejected", Policy},
		{"failed", "5.7.1", "550 5.7.1 rejected by policy", Policy},
		{"failed", "5.7.1", "550 5.7.1 <a@b>... User unknown", Hard},
		{"failed", "5.7.26", "DMARC policy", Policy},
		{"failed", "5.0.0", "550 mailbox unavailable", Hard},
		{"failed", "5.0.0", "550 blocked for spam", Policy},
		{"failed", "5.0.0", "", Hard},
		{"failed", "4.2.2", "452 4.2.2 over quota", Soft},
		{"failed", "4.7.0", "421 4.7.0 temporarily deferred for spam reasons", Soft},
		{"failed", "4.7.1", "451 4.7.1 blocked by reputation", Policy},
		{"delayed", "4.4.1", "connection timed out", Delayed},
		{"delayed", "5.1.1", "", Delayed},
		{"delivered", "2.0.0", "", Delivered},
		{"relayed", "", "", Delivered},
		{"failed", "", "554 delivery error: dd This user doesn't have a example.org account", Hard},
		{"failed", "", "452 mailbox is full", Soft},
		{"failed", "", "something odd happened", Hard},
		{"", "", "something odd happened", Unknown},
		{"failed", "9.9.9", "", Hard},
		{"failed", "5.1", "user unknown", Hard},
		{"failed", "", "550 Сообщение отклонено: адрес не найден", Hard},
		{"failed", "", "550 ящик переполнен", Soft},
	}
	for _, c := range cases {
		if got := Classify(c.action, c.status, c.diag); got != c.want {
			t.Errorf("Classify(%q, %q, %q) = %q, want %q", c.action, c.status, c.diag, got, c.want)
		}
	}
}

func TestFindStatus(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 <a@b>: nope":           "5.1.1",
		"(#5.1.1)":                        "5.1.1",
		"550-5.7.26 dmarc":                "5.7.26",
		"version 1.2.3 of the server":     "",
		"address 10.5.1.1 is not allowed": "",
		"no code here":                    "",
	} {
		if got := findStatus(in); got != want {
			t.Errorf("findStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotAMessage(t *testing.T) {
	if _, err := Parse(strings.NewReader("")); err == nil {
		t.Fatal("empty input parsed as a message")
	}
}

func TestDiagnosticIsCleanedAndCapped(t *testing.T) {
	long := "Diagnostic-Code: smtp; 550 5.1.1 \x1b[31m<a@example.net>\x00 " + strings.Repeat("x", 3000)
	msg := "From: MAILER-DAEMON@example.net\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n" +
		"Final-Recipient: rfc822; A@Example.NET\r\nAction: failed\r\nStatus: 5.1.1\r\n" + long + "\r\n--b--\r\n"
	reps, err := Parse(strings.NewReader(msg))
	if err != nil || len(reps) != 1 {
		t.Fatalf("Parse: %v %+v", err, reps)
	}
	r := reps[0]
	if r.Recipient != "a@example.net" {
		t.Errorf("recipient %q, want the address lower-cased", r.Recipient)
	}
	if len(r.Diagnostic) > MaxDiagnostic || strings.ContainsAny(r.Diagnostic, "\x1b\x00") {
		t.Errorf("diagnostic not cleaned or capped: %d bytes %q...", len(r.Diagnostic), r.Diagnostic[:40])
	}
}

func FuzzParse(f *testing.F) {
	f.Add("From: MAILER-DAEMON@x\r\nSubject: failure notice\r\n\r\n<a@b.c>:\r\n550 5.1.1 no\r\n")
	f.Add("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n--b--")
	f.Fuzz(func(t *testing.T, s string) {
		reps, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(reps) == 0 {
			t.Fatal("a message gave no report")
		}
		for _, r := range reps {
			if len(r.Diagnostic) > MaxDiagnostic || strings.ContainsAny(r.Recipient, " \r\n<>") {
				t.Fatalf("unclean report %+v", r)
			}
		}
	})
}
