package simplesender_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestImportRules keeps the layout of docs/architecture.md: the web UI, the JSON API and
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

// TestStandsOnItsOwn fails when a tracked file points outside the
// repository, at the shared folder it was developed beside: everything
// needed to build, test and measure is in the repository.
func TestStandsOnItsOwn(t *testing.T) {
	// Spelled in pieces, so that this file does not match itself.
	patterns := []string{"../" + "shared", "/work/" + "shared"}
	// Nor does it name the reference documents that lived there: what
	// they said that holds for this project is in docs/.
	for _, name := range []string{"DELIVERY", "STYLE", "ORIGINAL", "STACK", "API"} {
		patterns = append(patterns, name+".md")
	}
	for _, f := range repositoryFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted and not yet committed
			}
			t.Fatal(err)
		}
		for n, line := range bytes.Split(b, []byte("\n")) {
			for _, p := range patterns {
				if bytes.Contains(line, []byte(p)) {
					t.Errorf("%s:%d mentions %s", f, n+1, p)
				}
			}
		}
	}
}

// TestDocsLinksResolve fails when a relative link of the README or of docs/
// names a file that the repository does not have.
func TestDocsLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)\s]*)?\)`)
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md")
	}
	for _, f := range append(docs, "README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", f, target)
			}
		}
	}
}

// repositoryFiles lists the files git tracks or, where git cannot say (a
// copy without .git, or a checkout owned by another user), every file but
// those of .git and of the folders .gitignore names.
func repositoryFiles(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("git", "ls-files", "-z").Output(); err == nil {
		return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	}
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && (path == ".git" || path == "data" || path == "bin" || path == "node_modules"):
			return filepath.SkipDir
		case d.Type().IsRegular() && path != "simplesender" && !strings.HasSuffix(path, ".test") && !strings.HasSuffix(path, ".prof"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
