package api

import (
	"context"
	"testing"

	"simplesender/internal/store/storetest"
)

// A mailing whose only recipient was deleted is kept, and the API refuses
// to send or schedule it with a message that says why.
func TestSendWithoutRecipientsRefusedClearly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newContentFixture(t, dbURL)
		o := f.seed(t, f.users["owner"])
		ctx, ac := context.Background(), actor(f.users["owner"])
		for _, id := range []int64{o.R.ID, o.R2.ID} {
			if err := f.env.App.DeleteRecipient(ctx, ac, id); err != nil {
				t.Fatal(err)
			}
		}
		f.do(t, req{method: "GET", path: "/mailings/" + itoa(o.G.ID), bearer: f.tokens["owner"]}).want(t, 200).has(t, `"recipient_count":0`)
		for lang, want := range map[string]string{
			"en": "The mailing has no recipients: add recipients to it before sending or scheduling.",
			"ru": "В рассылке нет получателей: добавьте их, прежде чем отправлять или планировать.",
		} {
			res := f.do(t, req{method: "POST", path: "/mailings/" + itoa(o.G.ID) + "/send", bearer: f.tokens["owner"],
				header: []string{"Accept-Language", lang}}).want(t, 409)
			if e := res.errorBody(t); e.Code != "conflict" || e.Message != want {
				t.Errorf("send without recipients (%s): %+v", lang, e)
			}
		}
	})
}
