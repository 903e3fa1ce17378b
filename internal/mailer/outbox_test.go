package mailer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"simplesender"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	o := NewOutbox(dir)
	linkRE := regexp.MustCompile(`https://\S+`)
	tests := []struct {
		name         string
		text         string
		wantEncoding string
		wantRawLink  bool // the link can be copied straight out of the file
	}{
		{"russian confirmation e-mail keeps the link on one line",
			"Здравствуйте!\n\nЧтобы подтвердить адрес, откройте ссылку:\n" + testLink + "\n\nЕсли это были не вы, ничего не делайте.\n",
			"8bit", true},
		{"english confirmation e-mail keeps the link on one line",
			"Hello!\n\nTo confirm your address, open:\n" + testLink + "\n",
			"7bit", true},
		{"link in an overlong Russian line survives base64",
			strings.Repeat("Очень длинный абзац без переводов строки. ", 40) + testLink + " " + strings.Repeat("ещё ", 10),
			"base64", false},
		{"link in an overlong English line survives quoted-printable",
			strings.Repeat("A very long paragraph without line breaks. ", 40) + testLink + " " + strings.Repeat("more ", 10),
			"quoted-printable", false},
	}
	var paths []string
	for _, tt := range tests {
		// Not parallel: the files must be written in this order.
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{
				From:    Address{Name: "simpleSENDER", Email: "noreply@localhost"},
				To:      Address{Name: "Анна", Email: "anna@example.com"},
				Subject: "Подтвердите адрес",
				Text:    tt.text,
			}
			res, err := o.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if res.Reply != (Reply{}) {
				t.Errorf("Outbox reply = %+v, want none", res.Reply)
			}
			if filepath.Dir(res.Path) != dir || !regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{8}\.eml$`).MatchString(filepath.Base(res.Path)) {
				t.Errorf("file %q, want DIR/20261125T185601.123456789Z-xxxxxxxx.eml", res.Path)
			}
			paths = append(paths, res.Path)
			raw, err := os.ReadFile(res.Path)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(res.Path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v (%v), want 0600: it holds confirmation tokens", fi.Mode(), err)
			}
			if got := bytes.Contains(raw, []byte(testLink)); got != tt.wantRawLink {
				t.Errorf("link readable in the raw file: %v, want %v", got, tt.wantRawLink)
			}
			pm := parseMessage(t, raw)
			if id := pm.Header.Get("Message-ID"); id != res.MessageID {
				t.Errorf("Message-ID %q, Send returned %q", id, res.MessageID)
			}
			if len(pm.Parts) != 1 || pm.Parts[0].Encoding != tt.wantEncoding {
				t.Fatalf("parts %+v, want one %s part", pm.Parts, tt.wantEncoding)
			}
			if got := linkRE.FindString(pm.Parts[0].Body); got != testLink {
				t.Errorf("link read from the decoded body = %q, want %q", got, testLink)
			}
		})
	}

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox directory mode %v (%v), want 0700", fi.Mode(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	slices.Sort(names)
	if !slices.Equal(names, paths) {
		t.Errorf("outbox holds %q, want exactly the messages in the order sent %q", names, paths)
	}
}

func TestOutboxWritesNothingOnError(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "outbox")
	o := NewOutbox(dir)
	good := &Message{From: Address{Email: "noreply@localhost"}, To: Address{Email: "a@example.com"}, Text: "x"}

	_, err := o.Send(context.Background(), &Message{From: good.From, To: good.To, Subject: "a\r\nBcc: b@example.com"})
	wantInvalid(t, err, "error.header_injection", "subject")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Send(ctx, good); err == nil {
		t.Error("Send with a cancelled context succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("outbox directory exists after failed sends: %v", err)
	}

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewOutbox(filepath.Join(blocked, "outbox")).Send(context.Background(), good)
	if simplesender.ErrorKind(err) != simplesender.KindInternal || err == nil {
		t.Errorf("Send into an impossible directory = %v, want an internal error", err)
	}
}
