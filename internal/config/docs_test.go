package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryVariableIsDocumented fails when a setting the service reads is
// missing from the configuration table of docs/operations.md, where
// operators look for it.
func TestEveryVariableIsDocumented(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`"(SIMPLESENDER_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 10 {
		t.Fatalf("found only %d variables in the package", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(doc), "| `"+m[1]+"` |") {
			t.Errorf("%s is read by the service but has no row in docs/operations.md", m[1])
		}
	}
}
