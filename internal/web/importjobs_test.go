package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

// csvOfSize is a valid list of about n bytes.
func csvOfSize(n int) []byte {
	var b strings.Builder
	b.WriteString("email\n")
	for i := 0; b.Len() < n; i++ {
		b.WriteString("someone" + itoa(int64(i)) + "@example.com\n")
	}
	return []byte(b.String())
}

// TestImportQuotaInTheUI: one waiting upload per user, replaced by the
// next; the room for all uploads and the size of one file refused with
// their own messages in both languages; cancel removes an upload, and
// stops an import.
func TestImportQuotaInTheUI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSiteWith(t, dbURL, web.Config{}, apptest.Options{NoImportWorker: true, Deps: func(d *app.Deps) {
			d.Imports.MaxFile, d.Imports.MaxTotal = 1<<20, 3<<19
		}})
		first := s.upload(t, "active", "first.csv", csvOfSize(1000))
		second := s.upload(t, "active", "second.csv", csvOfSize(900<<10))
		for _, r := range []resp{first, second} {
			if r.status != http.StatusSeeOther || !importPath.MatchString(r.header.Get("Location")) {
				t.Fatalf("upload: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
			}
		}
		check(t, "the replaced upload", s.do(t, "active", "GET", first.header.Get("Location"), nil), 404, nil, nil)
		preview := second.header.Get("Location")
		check(t, "the upload page names the waiting file", s.do(t, "active", "GET", "/recipients/import", nil), 200,
			[]string{"second.csv", "waits to be imported", `href="` + preview + `/status"`}, []string{"first.csv"})

		check(t, "no room for another user's file", s.upload(t, "other", "big.csv", csvOfSize(900<<10)), 413,
			[]string{"too many uploaded files", `type="file"`}, nil)
		check(t, "no room, in Russian", s.upload(t, "other", "big.csv", csvOfSize(900<<10), "Accept-Language", "ru"), 413,
			[]string{"слишком много загруженных файлов"}, nil)

		check(t, "remove the upload", s.do(t, "active", "POST", preview+"/cancel", url.Values{}), 303, nil, nil)
		check(t, "the removed upload", s.do(t, "active", "GET", preview, nil), 404, nil, []string{"second.csv"})
		check(t, "a file over the limit", s.upload(t, "other", "huge.csv", csvOfSize(1100<<10)), 413, []string{"at most 1 MB"}, nil)
		check(t, "over the limit, in Russian", s.upload(t, "other", "huge.csv", csvOfSize(1100<<10), "Accept-Language", "ru"), 413,
			[]string{"не более 1 МБ"}, nil)

		// With no worker the import waits in the queue: a new upload is
		// refused, and the import can be cancelled from its page.
		r := s.upload(t, "other", "list.csv", csvOfSize(900<<10))
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload after the cancel: %d\n%s", r.status, r.body)
		}
		preview = r.header.Get("Location")
		check(t, "start", s.do(t, "other", "POST", preview, url.Values{"action": {"import"}, "existing": {"skip"}, "invalid": {"valid"}}),
			303, nil, nil)
		check(t, "waiting", s.do(t, "other", "GET", preview+"/status", nil), 200,
			[]string{"Waiting for its turn", `action="` + preview + `/cancel"`}, nil)
		check(t, "the preview of a started import", s.do(t, "other", "GET", preview, nil), 303, nil, nil)
		check(t, "an upload beside a running import", s.upload(t, "other", "more.csv", csvOfSize(100)), 409,
			[]string{"still running"}, nil)
		check(t, "another user cancels it", s.do(t, "active", "POST", preview+"/cancel", url.Values{}), 404, nil, nil)
		check(t, "cancel", s.do(t, "other", "POST", preview+"/cancel", url.Values{}), 303, nil, nil)
		check(t, "cancelled", s.do(t, "other", "GET", preview+"/status", nil), 200, []string{"The import was cancelled"},
			[]string{"Waiting for its turn"})
		check(t, "an upload after the cancel", s.upload(t, "other", "more.csv", csvOfSize(100)), 303, nil, nil)
	})
}

// TestImportPagesOnAnotherInstance starts an import through one instance's
// UI and follows it through another's: both read the job from the
// database.
func TestImportPagesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		one := newSiteWith(t, dbURL, web.Config{}, apptest.Options{NoImportWorker: true})
		env2 := apptest.New(t, dbURL, apptest.Options{NoImportWorker: true})
		ui, err := web.New(env2.App, env2.Bundle, slog.New(slog.DiscardHandler), web.Config{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _, err := env2.App.Login(context.Background(), "active@example.com", apptest.Password, "10.0.0.9", "test")
		if err != nil {
			t.Fatal(err)
		}
		two := &site{env: env2, h: ui.Handler(), cookies: map[string]string{"active": raw}}

		r := one.upload(t, "active", "list.csv", []byte("email;name\nann@example.org;Ann\nbad@@;Bad\n"))
		preview := r.header.Get("Location")
		check(t, "the preview on the other instance", two.do(t, "active", "GET", preview, nil), 200, []string{"ann@example.org", "bad@@"}, nil)
		check(t, "start", one.do(t, "active", "POST", preview, url.Values{"action": {"import"}, "existing": {"skip"}, "invalid": {"valid"}}),
			303, nil, nil)
		check(t, "queued, seen on the other instance", two.do(t, "active", "GET", preview+"/status", nil), 200,
			[]string{"Importing recipients", "Waiting for its turn"}, nil)
		check(t, "progress JSON on the other instance", two.do(t, "active", "GET", preview+"/progress.json", nil), 200,
			[]string{`"running":true`}, nil)

		// A worker on the second instance runs it.
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { env2.App.RunImports(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		deadline := time.Now().Add(20 * time.Second)
		for {
			r = one.do(t, "active", "GET", preview+"/progress.json", nil)
			if strings.Contains(r.body, `"running":false`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the import does not end: %s", r.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for name, s := range map[string]*site{"first": one, "second": two} {
			check(t, "the result on the "+name+" instance", s.do(t, "active", "GET", preview+"/status", nil), 200,
				[]string{"Import result", figure("imported", 1), figure("invalid", 1), "<td>3</td><td>bad@@</td>"}, nil)
		}
	})
}
