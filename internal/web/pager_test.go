package web_test

import (
	"strings"
	"testing"

	"simplesender/internal/store/storetest"
)

// TestListsOfferPageNumbersAndPageLengths: a long list shows the first, the
// previous, the neighbouring, the next and the last page numbers and the
// page lengths 25, 50, 100 and 500; the chosen length stays in every link;
// a length not offered shows the default 50.
func TestListsOfferPageNumbersAndPageLengths(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := newSite(t, dbURL)
		for range 260 {
			s.recipient(t, "active", "Anna")
		}
		rows := func(r resp) int { return strings.Count(r.body, `">active-`) }

		p := s.do(t, "active", "GET", "/recipients?per_page=25&page=5", nil)
		check(t, "page 5 of 11 at 25 a page", p, 200, []string{
			"Page 5 of 11",
			`href="/recipients?per_page=25" rel="first"`,
			`href="/recipients?page=4&amp;per_page=25" rel="prev"`,
			`href="/recipients?page=3&amp;per_page=25" aria-label="Page 3">3</a>`,
			`href="/recipients?page=5&amp;per_page=25" aria-current="page">5</a>`,
			`href="/recipients?page=7&amp;per_page=25" aria-label="Page 7">7</a>`,
			`href="/recipients?page=6&amp;per_page=25" rel="next"`,
			`href="/recipients?page=11&amp;per_page=25" rel="last"`,
			`<li class="gap" aria-hidden="true">…</li>`,
			"Per page:", `<strong aria-current="true">25</strong>`,
			// The first item of page 5 (the 101st) is on page 3 at 50 a page.
			`href="/recipients?page=3" rel="nofollow">50</a>`,
			`href="/recipients?page=2&amp;per_page=100" rel="nofollow">100</a>`,
			`href="/recipients?per_page=500" rel="nofollow">500</a>`,
		}, []string{`aria-label="Page 2">2</a>`, `aria-label="Page 8">8</a>`})
		if n := rows(p); n != 25 {
			t.Errorf("page 5 at 25 a page lists %d recipients, want 25", n)
		}

		all := s.do(t, "active", "GET", "/recipients?per_page=500", nil)
		check(t, "500 a page", all, 200, []string{`<strong aria-current="true">500</strong>`}, []string{`rel="next"`, "Page 1 of"})
		if n := rows(all); n != 260 {
			t.Errorf("500 a page lists %d recipients, want all 260", n)
		}

		odd := s.do(t, "active", "GET", "/recipients?per_page=7", nil)
		check(t, "a length not offered", odd, 200, []string{"Page 1 of 6", `<strong aria-current="true">50</strong>`}, nil)
		if n := rows(odd); n != 50 {
			t.Errorf("per_page=7 lists %d recipients, want the default 50", n)
		}

		ru := s.do(t, "active", "GET", "/recipients?per_page=100&page=3", nil, "Accept-Language", "ru")
		check(t, "Russian", ru, 200, []string{"Страница 3 из 3", "На странице:", `aria-label="Первая страница"`}, nil)
		if n := rows(ru); n != 60 {
			t.Errorf("the last page at 100 a page lists %d recipients, want 60", n)
		}
	})
}
