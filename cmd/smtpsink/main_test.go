package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"simplesender/internal/app/apptest"
)

// TestExpectEndsWithASummary runs the command as a load test would: it
// listens on a free port, exits after -expect messages, and leaves a JSON
// summary and a recipient log that show the duplicate.
func TestExpectEndsWithASummary(t *testing.T) {
	t.Parallel()
	rcpts := filepath.Join(t.TempDir(), "rcpts.txt")
	var stdout bytes.Buffer
	stderr := &apptest.LogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"-addr", "127.0.0.1:0", "-expect", "3", "-dups", "-rcpt-log", rcpts, "-interval", "0"}, &stdout, stderr)
	}()
	addr := ""
	re := regexp.MustCompile(`listening on (\S+)`)
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address on stderr: %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, to := range []string{"a@example.com", "b@example.com", "a@example.com"} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("from@example.com", []string{to}, strings.NewReader("Subject: hi\r\n\r\nhello\r\n")); err != nil {
			t.Fatal(err)
		}
		c.Quit()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not end after -expect messages")
	}
	var sum Summary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, stdout.String())
	}
	if sum.Messages != 3 || sum.Recipients != 3 || !sum.ExpectedMet || sum.Distinct == nil || *sum.Distinct != 2 ||
		sum.Duplicates == nil || *sum.Duplicates != 1 || sum.Addr != addr || sum.First == "" {
		t.Errorf("summary %s", stdout.String())
	}
	log, err := os.ReadFile(rcpts)
	if err != nil || string(log) != "a@example.com\nb@example.com\na@example.com\n" {
		t.Errorf("recipient log %q, %v", log, err)
	}
}

func TestStopsOnSignalWithoutMessages(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &stdout, &apptest.LogBuffer{}) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), `"messages": 0`) || strings.Contains(stdout.String(), "duplicate") {
		t.Errorf("summary without messages and without -dups: %s", stdout.String())
	}
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-idle-timeout", "soon"}, {"extra"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &apptest.LogBuffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
