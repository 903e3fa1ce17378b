package web_test

import (
	"log/slog"
	"testing"

	"simplesender/internal/api"
	"simplesender/internal/store/storetest"
	"simplesender/internal/web"
)

const sampleOpenAPI = `{
  "openapi": "3.1.0",
  "info": {"title": "simpleSENDER API", "version": "1", "description": "JSON API."},
  "servers": [{"url": "/api/v1"}],
  "paths": {
    "/recipients": {
      "get": {"summary": "List recipients", "tags": ["recipients"],
        "parameters": [{"name": "q", "in": "query", "description": "Search <b>text</b>", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Recipient"}}}}},
          "401": {"description": "No token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
      "post": {"summary": "Create a recipient", "tags": ["recipients"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Recipient"}}}},
        "responses": {"201": {"description": "Created."}, "422": {"description": "Invalid."}}}
    },
    "/openapi.json": {"get": {"summary": "This document", "tags": ["meta"], "security": [], "responses": {"200": {"description": "Success."}}}}
  },
  "components": {"schemas": {
    "Recipient": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}, "status": {"type": "string", "enum": ["a", "b"]}}},
    "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}}}}}
  }}
}`

func TestAPIDocsPage(t *testing.T) {
	t.Parallel()
	url := storetest.NewURL(t, storetest.Engines()[0])
	s := newSiteWith(t, url, web.Config{OpenAPI: func() []byte { return []byte(sampleOpenAPI) }})
	for _, who := range []string{"", "active"} {
		check(t, "API page as "+who, s.do(t, who, "GET", "/docs/api", nil), 200, []string{
			"Authorization: Bearer", `href="/api/v1/openapi.json"`, `<code class="method method-GET">GET</code> <code>/recipients</code>`,
			"List recipients", "Create a recipient", "Search &lt;b&gt;text&lt;/b&gt;", `href="#schema-Recipient"`, `id="schema-Recipient"`,
			"<code>422</code> <span lang=\"en\">Invalid.</span>", "string (email)", "string: a, b", "no token needed", `aria-current="page"`,
		}, []string{"<b>text</b>", "cdn", "<script>"})
	}
	check(t, "API page in Russian", s.do(t, "", "GET", "/docs/api", nil, "Accept-Language", "ru"), 200, []string{"Аутентификация", "Параметры"}, nil)

	// The real document in Russian: the groups, the summaries and the
	// words of the types are Russian; descriptions say they are English.
	real := newSiteWith(t, storetest.NewURL(t, storetest.Engines()[0]), web.Config{OpenAPI: api.OpenAPI})
	check(t, "the API's page in Russian", real.do(t, "", "GET", "/docs/api", nil, "Accept-Language", "ru"), 200, []string{
		`<a href="#tag-recipients">Получатели</a>`, "<h2>Рассылки</h2>",
		"<strong>Список получателей (сотрудники — всех пользователей)</strong>", "<strong>Отправить сейчас</strong>",
		"<strong>Удалить выбранных получателей вызывающего</strong>", "массив из ", "Подробные описания операций",
	}, []string{"<strong>Send now</strong>", "<strong>Add a recipient</strong>", "array of "})
	check(t, "the API's page in English", real.do(t, "", "GET", "/docs/api", nil, "Accept-Language", "en"), 200,
		[]string{"<strong>Send now</strong>", "<h2>Mailings</h2>", "array of "}, []string{"Отправить", "descriptions of operations"})
	// Without a document: the explanation and the link.
	ui, err := web.New(s.env.App, s.env.Bundle, slog.New(slog.DiscardHandler), web.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := &site{env: s.env, h: ui.Handler()}
	check(t, "API page without a document", s2.do(t, "", "GET", "/docs/api", nil), 200,
		[]string{`href="/api/v1/openapi.json"`, "Authorization: Bearer", "not available on this page"}, []string{"List recipients"})
}
