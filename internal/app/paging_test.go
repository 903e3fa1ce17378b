package app_test

import (
	"math"
	"testing"

	"simplesender/internal/app"
)

// TestPageNumberAndOffset: any page number a query can hold gives an offset
// from 0, at or past the end of the list for pages too far out, never a
// negative one (which PostgreSQL refuses).
func TestPageNumberAndOffset(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		page int
		ok   bool
	}{
		{"1", 1, true}, {"007", 7, true}, {" 2 ", 2, true}, {"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", math.MaxInt64, true}, {"99999999999999999999999", math.MaxInt64, true},
		{"", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1.0", 0, false}, {"1e2", 0, false},
		{"abc", 0, false}, {"0x1", 0, false}, {"١", 0, false}, {"1\x00", 0, false},
	} {
		page, ok := app.PageNumber(c.in)
		if page != c.page || ok != c.ok {
			t.Errorf("PageNumber(%q) = %d, %v; want %d, %v", c.in, page, ok, c.page, c.ok)
		}
	}
	for _, c := range []struct{ page, perPage, want int }{
		{1, 50, 0}, {2, 50, 50}, {0, 50, 0}, {-5, 50, 0}, {math.MinInt64, 50, 0}, {3, 0, 100},
		{math.MaxInt64 / 50, 50, math.MaxInt64 / 4}, {math.MaxInt64, 500, math.MaxInt64 / 4}, {math.MaxInt64, 1, math.MaxInt64 / 4},
		{1 << 40, 500, (1<<40 - 1) * 500},
	} {
		got := app.Offset(c.page, c.perPage)
		if got != c.want {
			t.Errorf("Offset(%d, %d) = %d, want %d", c.page, c.perPage, got, c.want)
		}
		if got < 0 || got+500 < got {
			t.Errorf("Offset(%d, %d) = %d: no room for a page after it", c.page, c.perPage, got)
		}
	}
	for _, c := range []struct{ total, perPage, want int }{{0, 50, 1}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {3, 0, 1}} {
		if got := app.LastPage(c.total, c.perPage); got != c.want {
			t.Errorf("LastPage(%d, %d) = %d, want %d", c.total, c.perPage, got, c.want)
		}
	}
}
