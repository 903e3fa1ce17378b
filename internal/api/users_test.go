package api

import (
	"strconv"
	"testing"

	"simplesender"
	"simplesender/internal/store/storetest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// TestBlockEndsAccessAtOnce checks that a blocked user's token is refused on
// the very next request and stays refused after unblocking.
func TestBlockEndsAccessAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		u := f.user(t, simplesender.RoleUser, simplesender.StatusActive)
		tok := f.token(t, u)
		f.do(t, req{method: "GET", path: "/me", bearer: tok}).want(t, 200)

		f.do(t, req{method: "POST", path: "/users/" + itoa(u.ID) + "/block", bearer: f.tokens["manager"]}).
			want(t, 200).has(t, `"status":"blocked"`)
		f.do(t, req{method: "GET", path: "/me", bearer: tok}).want(t, 401).has(t, `"code":"unauthenticated"`)
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + u.Email + `","password":"correct horse battery"}`}).
			want(t, 401).has(t, "This account is blocked.")

		f.do(t, req{method: "POST", path: "/users/" + itoa(u.ID) + "/unblock", bearer: f.tokens["manager"]}).
			want(t, 200).has(t, `"status":"active"`)
		f.do(t, req{method: "GET", path: "/me", bearer: tok}).want(t, 401)
		f.do(t, req{method: "POST", path: "/tokens", body: `{"email":"` + u.Email + `","password":"correct horse battery"}`}).want(t, 201)
	})
}

// TestStaffPowers checks what managers and admins may do to each other.
func TestStaffPowers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		manager, admin := f.tokens["manager"], f.tokens["admin"]
		u := f.user(t, simplesender.RoleUser, simplesender.StatusActive)
		userTok := f.token(t, u)
		other := f.user(t, simplesender.RoleManager, simplesender.StatusActive)

		f.do(t, req{method: "POST", path: "/users/" + itoa(other.ID) + "/block", bearer: manager}).
			want(t, 403).has(t, "You are not allowed to do this.")
		f.do(t, req{method: "POST", path: "/users/" + itoa(f.users["admin"].ID) + "/block", bearer: manager}).want(t, 403)
		f.do(t, req{method: "GET", path: "/me", bearer: admin}).want(t, 200) // still not blocked
		f.do(t, req{method: "PATCH", path: "/users/" + itoa(u.ID), bearer: manager, body: `{"role":"admin"}`}).want(t, 403)

		// The admin makes the user a manager: their same token now reaches the
		// user list.
		f.do(t, req{method: "GET", path: "/users", bearer: userTok}).want(t, 403)
		f.do(t, req{method: "PATCH", path: "/users/" + itoa(u.ID), bearer: admin, body: `{"role":"manager"}`}).
			want(t, 200).has(t, `"role":"manager"`)
		f.do(t, req{method: "GET", path: "/users", bearer: userTok}).want(t, 200)
		f.do(t, req{method: "GET", path: "/me", bearer: userTok}).want(t, 200).has(t, `"role":"manager"`)

		f.do(t, req{method: "PATCH", path: "/users/" + itoa(u.ID), bearer: admin, body: `{"role":"boss"}`}).
			want(t, 422).has(t, `"role":"Choose user, manager or admin."`)
		f.do(t, req{method: "PATCH", path: "/users/" + itoa(u.ID), bearer: admin, body: `{}`}).
			want(t, 422).has(t, `"role":"This field is required."`)
		f.do(t, req{method: "PATCH", path: "/users/987654321", bearer: admin, body: `{"role":"user"}`}).want(t, 404)
		f.do(t, req{method: "PATCH", path: "/users/" + itoa(f.users["admin"].ID), bearer: admin, body: `{"role":"user"}`}).
			want(t, 403).has(t, "You cannot change your own role.")
	})
}

// TestListUsers checks paging, search and the status filter.
func TestListUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, databaseURL string) {
		f := newFixture(t, databaseURL)
		for range 3 {
			f.env.User(t, f.email(), simplesender.RoleUser, simplesender.StatusActive)
		}
		f.env.User(t, "zed.search@example.org", simplesender.RoleUser, simplesender.StatusPending)
		all := 5 + 3 + 1 // the fixture's accounts, three more, and zed
		admin := f.tokens["admin"]
		type page struct {
			Items []struct {
				ID     int64  `json:"id"`
				Email  string `json:"email"`
				Status string `json:"status"`
			} `json:"items"`
			Total   int `json:"total"`
			Page    int `json:"page"`
			PerPage int `json:"per_page"`
		}
		tests := []struct {
			name, query               string
			items, total, pg, perPage int
			first                     string // e-mail of the first item, if checked
		}{
			{"default page holds everybody", "", all, all, 1, 50, "pending@example.com"},
			{"per_page limits the items", "?per_page=2", 2, all, 1, 2, "pending@example.com"},
			{"page two follows page one", "?per_page=2&page=2", 2, all, 2, 2, "blocked@example.com"},
			{"a page past the end is empty", "?per_page=2&page=99", 0, all, 99, 2, ""},
			{"per_page over 500 counts as 500", "?per_page=100000", all, all, 1, 500, ""},
			{"q finds part of an address, any case", "?q=ZED.S", 1, 1, 1, 50, "zed.search@example.org"},
			{"status filters", "?status=pending", 2, 2, 1, 50, "pending@example.com"},
			{"role filters", "?role=admin", 1, 1, 1, 50, "admin@example.com"},
			{"no match is an empty list", "?q=nobody-has-this", 0, 0, 1, 50, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var p page
				f.do(t, req{method: "GET", path: "/users" + tt.query, bearer: admin}).want(t, 200).
					has(t, `"items":[`).decode(t, &p)
				if len(p.Items) != tt.items || p.Total != tt.total || p.Page != tt.pg || p.PerPage != tt.perPage {
					t.Errorf("got %d items, total %d, page %d, per_page %d; want %d, %d, %d, %d",
						len(p.Items), p.Total, p.Page, p.PerPage, tt.items, tt.total, tt.pg, tt.perPage)
				}
				if tt.first != "" && (len(p.Items) == 0 || p.Items[0].Email != tt.first) {
					t.Errorf("first item %+v, want %s", p.Items, tt.first)
				}
			})
		}
		for q, msg := range map[string]string{"?page=0": "The page number must be a whole number from 1.",
			"?page=x":      "The page number must be a whole number from 1.",
			"?per_page=-1": "The page length must be a whole number from 1",
			"?status=gone": "A query parameter has an invalid value.", "?role=king": "A query parameter has an invalid value."} {
			t.Run("bad "+q, func(t *testing.T) {
				f.do(t, req{method: "GET", path: "/users" + q, bearer: admin}).want(t, 400).has(t, ":\""+msg)
			})
		}
	})
}
