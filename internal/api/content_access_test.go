package api

import (
	"context"
	"testing"
	"time"

	"simplesender/internal/store/storetest"
)

// contentScenario is one route tried by every caller of contentWhos on
// objects of "owner" made afresh for each caller.
type contentScenario struct {
	name         string
	method, path string
	body         string
	header       []string
	// prepare changes the owner's objects before the call (schedule,
	// send...) and may add placeholders.
	prepare func(t *testing.T, f *fixture, o objects) map[string]string
	want    map[string]int
	// okHas and okHasNot are fragments of a 2xx answer; otherHasNot, of the
	// other user's (who must not see the owner's objects in their lists).
	okHas, okHasNot, otherHasNot []string
}

var contentScenarios = []contentScenario{
	{name: "list recipients", method: "GET", path: "/recipients?per_page=500",
		want: st6(200, 200, 200, 200, 401, 401), okHas: []string{`"items":[`, `"per_page":500`}, otherHasNot: []string{"{r_email}"}},
	{name: "search recipients", method: "GET", path: "/recipients?q={r_email}",
		want: st6(200, 200, 200, 200, 401, 401), otherHasNot: []string{"{r_email}"}},
	{name: "create a recipient", method: "POST", path: "/recipients", body: `{"email":"{new_email}","first_name":"Anna"}`,
		want: st6(201, 201, 403, 201, 401, 401), okHas: []string{`"email":"{new_email}"`, `"first_name":"Anna"`, `"middle_name":""`}},
	{name: "get a recipient", method: "GET", path: "/recipients/{r}",
		want: st6(200, 404, 200, 200, 401, 401), okHas: []string{`"email":"{r_email}"`, `"id":{r}`}},
	{name: "patch a recipient", method: "PATCH", path: "/recipients/{r}", body: `{"comment":"VIP"}`,
		want: st6(200, 404, 403, 200, 401, 401), okHas: []string{`"comment":"VIP"`, `"first_name":"Ivan"`, `"email":"{r_email}"`}},
	{name: "delete a recipient", method: "DELETE", path: "/recipients/{r}", want: st6(204, 404, 403, 204, 401, 401)},
	{name: "export recipients", method: "GET", path: "/recipients.csv?bom=1",
		want: st6(200, 200, 200, 200, 401, 401), okHas: []string{"\uFEFFemail,last_name,first_name,middle_name,comment,tags\r\n"}},
	{name: "import recipients", method: "POST", path: "/recipients/import", body: "email,first_name\r\n{new_email},Anna\r\n",
		header: []string{"Content-Type", "text/csv"}, want: st6(200, 200, 403, 200, 401, 401),
		okHas: []string{`"imported":1`, `"committed":true`, `"separator":","`}},

	{name: "list messages", method: "GET", path: "/messages", want: st6(200, 200, 200, 200, 401, 401),
		okHas: []string{`"items":[`}, otherHasNot: []string{`"id":{m},`}},
	{name: "create a message", method: "POST", path: "/messages", body: `{"subject":"Hi {{first_name}}","body_text":"Text","body_html":"<p>Text</p>"}`,
		want: st6(201, 201, 403, 201, 401, 401), okHas: []string{`"subject":"Hi {{first_name}}"`, `"body_html":"\u003cp\u003eText\u003c/p\u003e"`}},
	{name: "get a message", method: "GET", path: "/messages/{m}", want: st6(200, 404, 200, 200, 401, 401),
		okHas: []string{`"subject":"Hello {{first_name}}"`}},
	{name: "patch a message", method: "PATCH", path: "/messages/{m}", body: `{"subject":"New subject"}`,
		want: st6(200, 404, 403, 200, 401, 401), okHas: []string{`"subject":"New subject"`, `"body_text":"Dear {{full_name}},\nnews."`}},
	{name: "delete a message in use", method: "DELETE", path: "/messages/{m}", want: st6(409, 404, 403, 409, 401, 401)},
	{name: "delete a message", method: "DELETE", path: "/messages/{m}", want: st6(204, 404, 403, 204, 401, 401),
		prepare: func(t *testing.T, f *fixture, o objects) map[string]string {
			if err := f.env.App.DeleteMailing(context.Background(), actor(f.users["owner"]), o.G.ID); err != nil {
				t.Fatal(err)
			}
			return nil
		}},

	{name: "list mailings", method: "GET", path: "/mailings?status=created", want: st6(200, 200, 200, 200, 401, 401),
		okHas: []string{`"items":[`}, otherHasNot: []string{`"id":{g},`}},
	{name: "list active mailings", method: "GET", path: "/mailings?status=active&sort=-created_at", want: st6(200, 200, 200, 200, 401, 401)},
	{name: "create a mailing of own objects", method: "POST", path: "/mailings",
		body: `{"message_id":{my_m},"recipient_ids":[{my_r}],"name":"Mine"}`, want: st6(201, 201, 403, 201, 401, 401),
		okHas: []string{`"status":"created"`, `"recipient_ids":[{my_r}]`, `"recipient_count":1`, `"disabled":false`,
			`"counts":{"sent":0,"failed":0,"pending":0,"unknown":0,"cancelled":0,"suppressed":0,"bounced":0,"complained":0}`}},
	{name: "create a mailing of the owner's objects", method: "POST", path: "/mailings",
		body: `{"message_id":{m},"recipient_ids":[{r}]}`, want: st6(201, 422, 403, 422, 401, 401)},
	// Reading a mailing does not list its audience (its cost must not grow
	// with it); the audience is paged on its own.
	{name: "get a mailing", method: "GET", path: "/mailings/{g}", want: st6(200, 404, 200, 200, 401, 401),
		okHas: []string{`"recipient_count":2`, `"scheduled_at":null`, `"message_id":{m}`}, okHasNot: []string{`"recipient_ids"`}},
	{name: "list a mailing's recipients", method: "GET", path: "/mailings/{g}/recipients?per_page=1&page=2",
		want:  st6(200, 404, 200, 200, 401, 401),
		okHas: []string{`"total":2`, `"pages":2`, `"items":[{"id":{r2},`}, okHasNot: []string{`"id":{r},`}},
	{name: "patch a mailing", method: "PATCH", path: "/mailings/{g}", body: `{"name":"Renamed"}`,
		want: st6(200, 404, 403, 200, 401, 401), okHas: []string{`"name":"Renamed"`, `"recipient_ids":[{r},{r2}]`}},
	{name: "delete a mailing", method: "DELETE", path: "/mailings/{g}", want: st6(204, 404, 403, 204, 401, 401)},
	{name: "send a mailing", method: "POST", path: "/mailings/{g}/send", want: st6(202, 404, 403, 202, 401, 401),
		okHas: []string{`"status":"running"`}},
	{name: "schedule a mailing", method: "POST", path: "/mailings/{g}/schedule", body: `{"send_at":"{future}"}`,
		want: st6(200, 404, 403, 200, 401, 401), okHas: []string{`"status":"running"`, `"scheduled_at":"{future}"`}},
	{name: "cancel a scheduled mailing", method: "POST", path: "/mailings/{g}/cancel", want: st6(200, 404, 403, 200, 401, 401),
		prepare: func(t *testing.T, f *fixture, o objects) map[string]string {
			if err := f.env.App.Schedule(context.Background(), actor(f.users["owner"]), o.G.ID, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			return nil
		}, okHas: []string{`"status":"created"`, `"scheduled_at":null`}},
	{name: "cancel an idle mailing", method: "POST", path: "/mailings/{g}/cancel", want: st6(409, 404, 403, 409, 401, 401)},
	{name: "resend to the failed", method: "POST", path: "/mailings/{g}/resend", body: `{"kind":"failed"}`,
		want: st6(202, 404, 403, 202, 401, 401), prepare: sendOnce, okHas: []string{`"status":"running"`}},
	{name: "resend to the unknown", method: "POST", path: "/mailings/{g}/resend", body: `{"kind":"unknown"}`,
		want: st6(409, 404, 403, 409, 401, 401), prepare: sendOnce},
	{name: "disable a mailing", method: "POST", path: "/mailings/{g}/disable", want: st6(403, 404, 200, 200, 401, 401),
		okHas: []string{`"disabled":true`, `"disabled_at":"20`}},
	{name: "enable a mailing", method: "POST", path: "/mailings/{g}/enable", want: st6(403, 404, 200, 200, 401, 401),
		prepare: func(t *testing.T, f *fixture, o objects) map[string]string {
			if _, err := f.env.App.SetMailingDisabled(context.Background(), actor(f.users["admin"]), o.G.ID, true); err != nil {
				t.Fatal(err)
			}
			return nil
		}, okHas: []string{`"disabled":false`, `"disabled_at":null`}},
	{name: "duplicate a mailing", method: "POST", path: "/mailings/{g}/duplicate", want: st6(201, 404, 403, 201, 401, 401),
		okHas: []string{`"name":"Copy of News `, `"status":"created"`, `"recipient_ids":[{r},{r2}]`, `"message_id":{m}`,
			`"scheduled_at":null`, `"owner_id":{owner}`}},
	{name: "send a test of a mailing", method: "POST", path: "/mailings/{g}/test", body: `{"recipient_id":{r}}`,
		want: st6(200, 404, 403, 200, 401, 401), okHas: []string{`"sent_to":["`, `"recipient_id":{r}`}},
	{name: "list runs", method: "GET", path: "/mailings/{g}/runs", want: st6(200, 404, 200, 200, 401, 401), prepare: sendOnce,
		okHas: []string{`"number":1`, `"kind":"send"`, `"counts":{"sent":1,"failed":1,"pending":0,"unknown":0,"cancelled":0,"suppressed":0,"bounced":0,"complained":0}`}},
	{name: "list deliveries", method: "GET", path: "/mailings/{g}/deliveries", want: st6(200, 404, 200, 200, 401, 401), prepare: sendOnce,
		okHas: []string{`"status":"sent"`, `"status":"failed"`, `"last_code":550`, `"recipient_id":{r2}`, `"total":2`, `"run":{"id":`}},
	{name: "list attempts", method: "GET", path: "/mailings/{g}/attempts", want: st6(200, 404, 200, 200, 401, 401), prepare: sendOnce,
		okHas: []string{`"status":"success"`, `"status":"failure"`, `"code":550`, `"response":"\u003cb\u003eno such user\u003c/b\u003e"`}},
	{name: "download attempts", method: "GET", path: "/mailings/{g}/attempts.csv", want: st6(200, 404, 200, 200, 401, 401), prepare: sendOnce,
		okHas: []string{"id,run,email,attempted_at,status,code,enhanced,response\r\n", ",failure,550,5.1.1,<b>no such user</b>"}},

	{name: "stats", method: "GET", path: "/stats", want: st6(200, 200, 200, 200, 401, 401), okHas: []string{`"mailings_total":`}},
	{name: "stats per user", method: "GET", path: "/stats/users", want: st6(403, 403, 200, 200, 401, 401),
		okHas: []string{`"user_id":`, `"email":"active@example.com"`}},
	{name: "report", method: "GET", path: "/reports.csv", want: st6(200, 200, 200, 200, 401, 401),
		okHas: []string{"mailing_id,mailing,status,disabled,mailings,"}},
	{name: "report of the owner", method: "GET", path: "/reports.csv?owner_id={owner}", want: st6(200, 404, 200, 200, 401, 401),
		okHas: []string{"{g},News "}},
	{name: "users report", method: "GET", path: "/reports/users.csv?bom=1", want: st6(403, 403, 200, 200, 401, 401),
		okHas: []string{"user_id,email,name,role,status"}},
	{name: "OpenAPI document", method: "GET", path: "/openapi.json", want: st6(200, 200, 200, 200, 200, 200),
		okHas: []string{`"openapi": "3.1.0"`}},
}

// sendOnce sends the mailing and runs it: R sent, R2 failed.
func sendOnce(t *testing.T, f *fixture, o objects) map[string]string {
	if err := f.env.App.SendNow(context.Background(), actor(f.users["owner"]), o.G.ID, "now"); err != nil {
		t.Fatal(err)
	}
	f.run(t, o.G.ID)
	return nil
}

// TestContentAccess tries every content route with every kind of caller.
func TestContentAccess(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newContentFixture(t, databaseURL)
		eachCell(t, f, contentScenarios, contentWhos, runContentCell)
	})
}

func runContentCell(t *testing.T, f *fixture, sc contentScenario, who string, want int) {
	o := f.seed(t, f.users["owner"])
	vars := o.vars()
	vars["owner"] = itoa(f.users["owner"].ID)
	vars["new_email"] = f.email()
	vars["future"] = time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if u := f.users[who]; u != nil && who != "blocked" {
		mine := o
		if who != "owner" {
			mine = f.seed(t, u)
		}
		vars["my_m"], vars["my_r"] = itoa(mine.M.ID), itoa(mine.R.ID)
	}
	if sc.prepare != nil {
		for k, v := range sc.prepare(t, f, o) {
			vars[k] = v
		}
	}
	q := req{method: sc.method, path: sc.path, body: sc.body, header: sc.header, bearer: f.tokens[who]}
	res, fill, ok := checkCell(t, f, who, want, q, vars, sc.okHas, sc.okHasNot)
	if ok && who == "other" {
		for _, s := range sc.otherHasNot {
			res.hasNot(t, fill(s))
		}
	}
}
