package delivery_test

import (
	"mime"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/store/storetest"
)

// TestCustomFieldPlaceholders sends a message with {{city|Moscow}} in the
// subject and both bodies to two recipients, one with a city and one
// without, on each database engine: each gets their own text, the one
// without a city the default, and the city is escaped in the HTML body.
func TestCustomFieldPlaceholders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		r := newRig(t, dbURL, nil)
		if err := r.env.App.CreateField(ctx, r.owner, &simplesender.Field{Key: "city", Name: "City", Type: simplesender.FieldText}); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, rc := range []*simplesender.Recipient{
			{Email: "ann@example.com", FirstName: "Ann", Fields: map[string]string{"city": "Saint <Petersburg>"}},
			{Email: "bob@example.com", FirstName: "Bob"},
		} {
			if err := r.env.App.CreateRecipient(ctx, r.owner, rc); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rc.ID)
		}
		bad := &simplesender.Message{Subject: "News", BodyText: "Hi from {{town}}"}
		if err := r.env.App.CreateMessage(ctx, r.owner, bad); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("a placeholder of no field: %v, want Invalid", err)
		}
		msg := &simplesender.Message{Subject: "News for {{city|Moscow}}", BodyText: "Hello {{first_name}} in {{city|Moscow}}!",
			BodyHTML: "<p>Hello {{first_name}} in <b>{{ city | Moscow }}</b>!</p>"}
		if err := r.env.App.CreateMessage(ctx, r.owner, msg); err != nil {
			t.Fatal(err)
		}
		m, err := r.env.App.CreateMailing(ctx, r.owner, app.MailingInput{MessageID: msg.ID, RecipientIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.env.App.SendNow(ctx, r.owner, m.ID, "now"); err != nil {
			t.Fatal(err)
		}
		if m = r.wait(t, m.ID, "the run to finish", finished); m.Counts.Sent != 2 {
			t.Fatalf("counts %+v", m.Counts)
		}
		for _, tc := range []struct {
			to, subject, text, html string
		}{
			{"ann@example.com", "News for Saint <Petersburg>", "Hello Ann in Saint <Petersburg>!", "<b>Saint &lt;Petersburg&gt;</b>"},
			{"bob@example.com", "News for Moscow", "Hello Bob in Moscow!", "<b>Moscow</b>"},
		} {
			raws := r.smtp.Raw(tc.to)
			if len(raws) != 1 {
				t.Fatalf("%s received %d messages", tc.to, len(raws))
			}
			h, parts := readAlternative(t, raws[0])
			if subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subject != tc.subject {
				t.Errorf("%s: Subject = %q, want %q", tc.to, subject, tc.subject)
			}
			if len(parts) != 2 || !strings.Contains(parts[0].body, tc.text) || !strings.Contains(parts[1].body, tc.html) {
				t.Errorf("%s: parts %+v, want %q and %q", tc.to, parts, tc.text, tc.html)
			}
		}
	})
}
