package app

import (
	"math"
	"strconv"
	"strings"
)

// Paging of every list of the UI and the API. Pages are numbered from 1.
// The UI shows a page number that is no whole number from 1 as page 1 and a
// page past the last as the last page; the API refuses the former (400,
// naming the parameter) and answers the latter with an empty page and the
// total. Neither ever fails on a page too large to count items up to.
const (
	DefaultPerPage = 50
	MaxPerPage     = 500
)

// maxOffset is where a page starts when its number is too large to count
// items up to: past the end of any list, and far enough from the largest
// int that an offset plus a page length never overflows.
const maxOffset = math.MaxInt64 / 4

// PageNumber parses a page number or page length from a query: a whole
// number from 1, in digits. One too large for an int counts as the largest
// int (a page past the end of any list). ok is false for anything else:
// empty, zero, negative or not a number.
func PageNumber(s string) (n int, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	switch {
	case err != nil: // only digits, so it is out of range
		return math.MaxInt, true
	case v < 1:
		return 0, false
	}
	return v, true
}

// Offset is the one place a page number becomes an offset: the number of
// items before page (from 1; less counts as 1) of perPage items (default
// DefaultPerPage when not positive). A page too far out to count gives an
// offset past the end of any list instead of overflowing into a negative
// number.
func Offset(page, perPage int) int {
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	page = max(page, 1)
	if page-1 > maxOffset/perPage {
		return maxOffset
	}
	return (page - 1) * perPage
}

// LastPage returns the number of the last page of total items shown perPage
// (default DefaultPerPage) a page: 1 for an empty list.
func LastPage(total, perPage int) int {
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	return max(1, (total+perPage-1)/perPage)
}
