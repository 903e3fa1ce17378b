package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store/storetest"
)

// TestImportJobs: an import that does not end while the request waits is
// 202 with its job, followed at /imports/{id} and cancelled with DELETE;
// a second file while it runs is 409; a file for which there is no room
// left is 413 with its own message.
func TestImportJobs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, apptest.Options{NoImportWorker: true, Deps: func(d *app.Deps) { d.Imports.MaxTotal = 1500 }})
		tok, other := f.tokens["active"], f.tokens["admin"] // managers import nothing
		post := func(token, query, body string) resp {
			t.Helper()
			return f.do(t, req{method: "POST", path: "/recipients/import" + query, bearer: token, body: body, header: []string{csvHeader, "text/csv"}})
		}
		file := "email\n" + strings.Repeat("someone@example.com\n", 50) // 1006 bytes

		res := post(tok, "?wait=0&valid_only=true&mode=update", file).want(t, 202)
		var job importJobJSON
		res.decode(t, &job)
		if job.State != "queued" || job.Mode != "update" || !job.ValidOnly || job.Size != int64(len(file)) || job.Result != nil ||
			res.header.Get("Location") != Prefix+"/imports/"+job.ID {
			t.Fatalf("queued job %+v, Location %q", job, res.header.Get("Location"))
		}
		path := "/imports/" + job.ID
		f.do(t, req{method: "GET", path: path, bearer: tok}).want(t, 200).has(t, `"state":"queued"`, `"file_name":""`)
		f.do(t, req{method: "GET", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "DELETE", path: path, bearer: other}).want(t, 404)
		f.do(t, req{method: "GET", path: "/imports/../../etc", bearer: tok}).want(t, 404)

		post(tok, "", "email\nx@example.com\n").want(t, 409).has(t, "still running")
		post(other, "", file).want(t, 413).has(t, `"code":"too_large"`, "too many uploaded files")
		f.do(t, req{method: "GET", path: "/recipients", bearer: other}).want(t, 200).has(t, `"total":0`)

		f.do(t, req{method: "DELETE", path: path, bearer: tok}).want(t, 204)
		f.do(t, req{method: "GET", path: path, bearer: tok}).want(t, 200).has(t, `"state":"cancelled"`, `"failure":{"code":"conflict"`)
		f.do(t, req{method: "DELETE", path: path, bearer: tok}).want(t, 409)

		// Now there is room; a worker runs the next import, followed to its
		// end through the job.
		res = post(other, "?wait=0", file).want(t, 202)
		res.decode(t, &job)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.env.App.RunImports(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		deadline := time.Now().Add(20 * time.Second)
		for {
			f.do(t, req{method: "GET", path: "/imports/" + job.ID, bearer: other}).want(t, 200).decode(t, &job)
			if job.State == "done" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the import does not end: %+v", job)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if job.Result == nil || job.Result.Imported != 1 || job.Result.Duplicates != 49 || job.Counts.Rows != 50 || job.FinishedAt == nil {
			t.Errorf("finished job %+v", job)
		}
	})
}
