package simplesender_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules keeps the layout of STYLE.md: the web UI, the JSON API and
// the command line reach the database only through package app (one
// authorization path), and the domain package depends on nothing of ours.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	rules := map[string][]string{
		"simplesender/internal/web": {"simplesender/internal/store", "simplesender/internal/delivery"},
		"simplesender/internal/api": {"simplesender/internal/store", "simplesender/internal/delivery"},
		"simplesender/internal/cli": {"simplesender/internal/store", "simplesender/internal/delivery"},
		"simplesender":              {"simplesender/internal/"},
	}
	for pkg, banned := range rules {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, b := range banned {
				if imp == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(imp, b)) {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
