package store

// WatchRead is a statement behind reading a mailing's state and progress
// (the API's GET /mailings/{id}, the mailing page and its progress.json),
// with its arguments for a mailing and its last run.
type WatchRead struct {
	Name string
	SQL  string
	Args func(mailing, run int64) []any
}

// WatchReads are the statements whose cost must not grow with a mailing's
// audience, as the store runs them.
func WatchReads() []WatchRead {
	one := func(mailing, run int64) []any { return []any{mailing} }
	return []WatchRead{
		{"mailing", mailingByIDSQL, one},
		{"mailing of an owner", mailingByIDSQL + " AND m.owner_id = ?", func(m, _ int64) []any { return []any{m, int64(1)} }},
		{"run counts", runCountsSQL(1), func(_, r int64) []any { return []any{r} }},
		{"next deferred delivery", nextDeferredSQL, one},
		{"last failed attempt", lastFailureSQL, one},
		{"first recipients", mailingRecipientsSQL, func(m, _ int64) []any { return []any{m, 10, 0} }},
	}
}
