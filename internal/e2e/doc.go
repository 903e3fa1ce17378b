// Package e2e holds end-to-end tests: the whole service, started in-process
// on a real listener and a real database, driven from a headless Chromium as a
// person would use it. It has no code of its own outside its tests.
//
// The tests need a Chromium binary (Debian's chromium package, /usr/bin/chromium).
// Without one they skip, except under CI=true, where a missing browser fails.
// SIMPLESENDER_TEST_POSTGRES and SIMPLESENDER_TEST_REDIS_URL switch the
// service from SQLite and in-process state to PostgreSQL and Redis, as in the
// other packages' tests. E2E_SCREENSHOT_DIR keeps the screenshots the tests
// take for a person to look at; without it they go to a temporary directory.
package e2e
