package bounce

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpus reads every returned message of testdata/corpus (anonymised
// shapes of what Postfix, Exim, qmail, Exchange, Gmail, Yahoo, Mail.ru and
// feedback loops send) and checks what the package makes of each: the kind,
// the address and the status a user would see on the delivery. The
// classifier's results are logged as a table (go test -v -run TestCorpus).
func TestCorpus(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "corpus", "expect.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	right, total := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != 5 {
			t.Fatalf("expect.tsv: %q has %d columns, want 5", line, len(col))
		}
		name := col[0]
		seen[name+".eml"] = true
		total++
		t.Run(name, func(t *testing.T) {
			raw, err := os.Open(filepath.Join("testdata", "corpus", name+".eml"))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			reps, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			kinds, rcpts, stats := strings.Split(col[1], ","), strings.Split(col[2], ","), strings.Split(col[3], ",")
			if len(reps) != len(kinds) {
				t.Fatalf("%d reports %+v, want %d", len(reps), reps, len(kinds))
			}
			ok := true
			for i, r := range reps {
				t.Logf("%-28s %-10s %-6s %-28s %-7s %q", name, r.Kind, r.Source, r.Recipient, r.Status, r.Diagnostic)
				if string(r.Kind) != kinds[i] {
					t.Errorf("report %d: kind %q, want %q", i, r.Kind, kinds[i])
					ok = false
				}
				if want := dash(rcpts[i]); r.Recipient != want {
					t.Errorf("report %d: recipient %q, want %q", i, r.Recipient, want)
					ok = false
				}
				if want := dash(stats[i]); r.Status != want {
					t.Errorf("report %d: status %q, want %q", i, r.Status, want)
					ok = false
				}
				quotes := r.MessageID == "<20261203101500.4f2a9c@mail.example.org>" &&
					r.ReturnPath == "bounces+abcdef0123@bounce.example.org"
				if quotes != (col[4] == "y") {
					t.Errorf("report %d: quoted Message-ID %q, Return-Path %q; want quoted: %s", i, r.MessageID, r.ReturnPath, col[4])
					ok = false
				}
			}
			if ok {
				right++
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("corpus: %d of %d messages read as expected", right, total)
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.eml"))
	for _, p := range files {
		if !seen[filepath.Base(p)] {
			t.Errorf("%s is not in expect.tsv", p)
		}
	}
	if total < 20 {
		t.Errorf("the corpus has %d messages; keep at least 20", total)
	}
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
