package app_test

import (
	"bytes"
	"strings"
	"testing"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/store"
)

// TestCustomFields: a user defines fields (bad, built-in and repeated keys
// refused, at most MaxFields), imports a CSV whose columns map to them, to
// tags and to a list (an unknown column ignored, a bad number and an
// unknown list making their rows invalid), reads the values back on the
// recipient, edits them (a bad number refused with nothing lost) and
// exports them; another user sees none of it.
func TestCustomFields(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		ann := &app.Actor{User: env.User(t, "ann@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		bob := &app.Actor{User: env.User(t, "bob@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		mgr := &app.Actor{User: env.User(t, "mgr@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		for _, f := range []*simplesender.Field{
			{Key: "city", Name: "Город", Type: simplesender.FieldText},
			{Key: "age", Type: simplesender.FieldNumber},
			{Key: "since", Name: "Client since", Type: simplesender.FieldDate},
			{Key: "vip", Type: simplesender.FieldBool},
		} {
			if err := env.App.CreateField(ctx, ann, f); err != nil {
				t.Fatalf("create %s: %v", f.Key, err)
			}
		}
		for _, tc := range []struct {
			f          simplesender.Field
			field, key string
		}{
			{simplesender.Field{Key: "City", Type: "text"}, "key", "error.field.exists"},
			{simplesender.Field{Key: "email", Type: "text"}, "key", "error.field.reserved"},
			{simplesender.Field{Key: "1st", Type: "text"}, "key", "error.field.key"},
			{simplesender.Field{Key: "zip", Type: "money"}, "type", "error.field.type"},
		} {
			if err := env.App.CreateField(ctx, ann, &tc.f); !hasField(err, tc.field, tc.key) {
				t.Errorf("create %+v: %v, want %s on %s", tc.f, err, tc.key, tc.field)
			}
		}
		if err := env.App.CreateField(ctx, mgr, &simplesender.Field{Key: "x", Type: "text"}); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager creates a field: %v, want Forbidden", err)
		}
		if _, err := env.App.CreateList(ctx, ann, "Clients"); err != nil {
			t.Fatal(err)
		}

		csv := "email;first_name;Город;age;since;vip;tags;lists;shoe_size\n" +
			"ivan@example.com;Иван;Москва;42;31.12.2020;да;VIP, new;Clients;44\n" +
			"olga@example.com;Ольга;;3,5;;no;;;\n" +
			"bad@example.com;Bad;Omsk;many;;;;;\n" +
			"nolist@example.com;No;;;;;;Friends;\n"
		res, err := env.App.ImportRecipients(ctx, ann, 0, strings.NewReader(csv), app.ImportOptions{ValidOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 2 || res.Invalid != 2 {
			t.Fatalf("import: %+v", res.ImportCounts)
		}
		if got := res.Errors[0].Fields["fields.age"]; got != "error.field.number" {
			t.Errorf("bad number row: %v", res.Errors[0].Fields)
		}
		if got := res.Errors[1].Fields["lists"]; got != "error.import.list_unknown" {
			t.Errorf("unknown list row: %v", res.Errors[1].Fields)
		}
		if m := res.Format.Mapping; string(m[2]) != "field:city" || m[6] != "tags" || m[7] != "lists" || m[8] != "" {
			t.Errorf("mapping %v: Город -> city, tags, lists, shoe_size ignored", m)
		}
		lists, _, err := env.App.ListLists(ctx, ann, 0, store.ListFilter{})
		if err != nil || len(lists) != 1 || lists[0].Members != 1 {
			t.Errorf("lists after import: %v, %v (no list made, ivan on Clients)", lists, err)
		}

		rs, _, err := env.App.ListRecipients(ctx, ann, 0, store.ListFilter{Query: "ivan"})
		if err != nil || len(rs) != 1 {
			t.Fatalf("find ivan: %v, %v", rs, err)
		}
		ivan := rs[0]
		want := map[string]string{"city": "Москва", "age": "42", "since": "2020-12-31", "vip": "true"}
		for k, v := range want {
			if ivan.Fields[k] != v {
				t.Errorf("ivan's %s = %q, want %q (all: %v)", k, ivan.Fields[k], v, ivan.Fields)
			}
		}
		if strings.Join(ivan.Tags, ",") != "new,vip" {
			t.Errorf("ivan's tags %v", ivan.Tags)
		}

		// Editing: a bad number is refused and nothing changes.
		edit := *ivan
		edit.FirstName = "Ваня"
		edit.Tags = nil
		edit.Fields = map[string]string{"age": "forty", "city": "Тверь"}
		if err := env.App.UpdateRecipient(ctx, ann, &edit); !hasField(err, "fields.age", "error.field.number") {
			t.Fatalf("bad number: %v", err)
		}
		got, err := env.App.GetRecipient(ctx, ann, ivan.ID)
		if err != nil || got.FirstName != "Иван" || got.Fields["city"] != "Москва" || got.Fields["age"] != "42" {
			t.Errorf("after a refused edit: %+v, %v", got, err)
		}
		edit.Fields = map[string]string{"age": "43,5", "city": "", "vip": "нет"}
		if err := env.App.UpdateRecipient(ctx, ann, &edit); err != nil {
			t.Fatal(err)
		}
		got, _ = env.App.GetRecipient(ctx, ann, ivan.ID)
		if got.FirstName != "Ваня" || got.Fields["age"] != "43.5" || got.Fields["vip"] != "false" || got.Fields["since"] != "2020-12-31" {
			t.Errorf("after an edit: %+v", got)
		}
		if _, ok := got.Fields["city"]; ok {
			t.Errorf("an emptied city stays: %v", got.Fields)
		}

		var out bytes.Buffer
		if _, err := env.App.ExportRecipients(ctx, ann, 0, &out, app.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"email,last_name,first_name,middle_name,comment,tags,city,age,since,vip\r\n",
			"ivan@example.com,,Ваня,,,new; vip,,43.5,2020-12-31,false\r\n", "olga@example.com,,Ольга,,,,,3.5,,false\r\n"} {
			if !strings.Contains(out.String(), s) {
				t.Errorf("export lacks %q:\n%s", s, out.String())
			}
		}
		// The export imports back into the same fields.
		env2 := out.String()
		if _, err := env.App.ImportRecipients(ctx, bob, 0, strings.NewReader(env2), app.ImportOptions{}); err != nil {
			t.Fatalf("bob imports ann's export: %v", err)
		}

		// Bob sees none of ann's fields, and cannot use their keys.
		if fs, err := env.App.ListFields(ctx, bob, 0); err != nil || len(fs) != 0 {
			t.Errorf("bob's fields: %v, %v", fs, err)
		}
		annFields, _ := env.App.ListFields(ctx, ann, 0)
		if _, err := env.App.GetField(ctx, bob, annFields[0].ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob reads ann's field: %v", err)
		}
		if err := env.App.DeleteField(ctx, bob, annFields[0].ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("bob deletes ann's field: %v", err)
		}
		r := &simplesender.Recipient{Email: "x@example.com", Fields: map[string]string{"city": "Omsk"}}
		if err := env.App.CreateRecipient(ctx, bob, r); !hasField(err, "fields.city", "error.field.unknown") {
			t.Errorf("bob sets a city: %v", err)
		}
		bobs, _, _ := env.App.ListRecipients(ctx, bob, 0, store.ListFilter{Query: "ivan"})
		if len(bobs) != 1 || len(bobs[0].Fields) != 0 {
			t.Errorf("bob's ivan: %+v (ann's export has columns bob has no field for)", bobs)
		}
		if fs, err := env.App.ListFields(ctx, mgr, 0); err != nil || len(fs) != 4 {
			t.Errorf("manager reads everyone's fields: %d, %v", len(fs), err)
		}

		// The limit.
		for i := len(annFields); i < simplesender.MaxFields; i++ {
			if err := env.App.CreateField(ctx, ann, &simplesender.Field{Key: "f" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Type: "text"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := env.App.CreateField(ctx, ann, &simplesender.Field{Key: "one_more", Type: "text"}); !hasField(err, "key", "error.field.limit") {
			t.Errorf("field %d: %v", simplesender.MaxFields+1, err)
		}
	})
}
