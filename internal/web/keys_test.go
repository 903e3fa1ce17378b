package web_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"simplesender/internal/i18n"
)

// TestEveryMessageKeyIsTranslated finds every message key used in the
// templates and in the Go code, and checks both languages have it, so that no
// page shows a raw key.
func TestEveryMessageKeyIsTranslated(t *testing.T) {
	b, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	keyRe := regexp.MustCompile(`"((?:error|flash|page|email|nav|field|hint|home|users|tokens|status|role|audit|pager|action|register|check_email|confirm|resend|login|forgot|reset|profile|password|footer)\.[a-z0-9_.]+)"`)
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
			found[m[1]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
