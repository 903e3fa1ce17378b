package web_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/i18n"
)

// fileName matches strings that look like keys but name files.
var fileName = regexp.MustCompile(`\.(csv|json|html|txt|eml|go|js|css|sql|db|xlsx)$`)

// dynamicKeys are keys that templates build from a value (printf
// "mailing.status.%s"), which the scan below cannot see. The lists of the
// lifecycle come from the domain, so a state added there needs its labels.
var dynamicKeys = map[string][]string{
	"mailing.status.%s":    {"created", "running", "finished"},
	"mailings.filter.%s":   {"created", "running", "finished", "active"},
	"delivery.status.%s":   names(simplesender.DeliveryStatuses(nil)),
	"deliveries.filter.%s": names(simplesender.DeliveryStatuses(func(st simplesender.DeliveryState) bool { return st.Status != simplesender.DeliverySending })),
	"run.kind.%s":          names(simplesender.RunKinds),
	"run.trigger.%s":       names(simplesender.Triggers),
	"import.field.%s":      {"ignore", "email", "last_name", "first_name", "middle_name", "full_name", "comment"},
	"import.phase.%s":      {"check", "write"},
	"report.kind.%s":       {"hard", "soft", "policy", "delayed", "delivered", "complaint", "auto_reply", "unknown"},
	"report.applied.%s":    {"bounced", "complained", "suppressed", "counted", "ignored", "unmatched"},
	"audit.%s":             {"mailing.disable", "mailing.enable", "mailing.cancel", "mailing.test", "mailing.duplicate", "user.block", "user.unblock", "user.role"},
}

func names[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// TestEveryMessageKeyIsTranslated finds every message key used in the
// templates and in the Go code, and checks both languages have it, so that no
// page shows a raw key.
func TestEveryMessageKeyIsTranslated(t *testing.T) {
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	keyRe := regexp.MustCompile(`"((?:error|flash|page|email|nav|field|hint|home|users|tokens|status|role|audit|pager|action|register|check_email|confirm|resend|login|forgot|reset|profile|password|footer|recipients|messages|mailings|mailing|deliveries|delivery|attempt|run|placeholders|preview|reports|import|export|apidocs|smtp)\.[a-z0-9_.]+)"`)
	found := map[string]string{}
	err = filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range keyRe.FindAllStringSubmatch(string(src), -1) {
			if fileName.MatchString(m[1]) {
				continue // "recipients.csv" is a file, not a message
			}
			found[m[1]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pattern, values := range dynamicKeys {
		for _, v := range values {
			found[fmt.Sprintf(pattern, v)] = "a template (" + pattern + ")"
		}
	}
	if len(found) < 50 {
		t.Fatalf("found only %d keys; the scan is broken", len(found))
	}
	for _, lang := range b.Languages() {
		l := b.For(lang)
		for k, where := range found {
			if !l.Has(k) && !strings.HasSuffix(k, ".") {
				t.Errorf("%s: key %q used in %s has no translation", lang, k, where)
			}
		}
	}
}
