package i18n

import (
	"testing"
	"time"
)

// TestWaitInWords checks the "try again in ..." durations in both languages,
// rounded up, with Russian plural forms (accusative after "через").
func TestWaitInWords(t *testing.T) {
	t.Parallel()
	b := mustNew(t)
	cases := []struct {
		d      time.Duration
		en, ru string
	}{
		{0, "1 second", "1 секунду"},
		{300 * time.Millisecond, "1 second", "1 секунду"},
		{2 * time.Second, "2 seconds", "2 секунды"},
		{59*time.Second + time.Millisecond, "1 minute", "1 минуту"},
		{45 * time.Second, "45 seconds", "45 секунд"},
		{61 * time.Second, "2 minutes", "2 минуты"},
		{14*time.Minute + 20*time.Second, "15 minutes", "15 минут"},
		{15 * time.Minute, "15 minutes", "15 минут"},
		{21 * time.Minute, "21 minutes", "21 минуту"},
		{time.Hour, "1 hour", "1 час"},
		{time.Hour + 90*time.Second, "1 hour 2 minutes", "1 час 2 минуты"},
		{5*time.Hour + 5*time.Minute, "5 hours 5 minutes", "5 часов 5 минут"},
	}
	for _, c := range cases {
		if got := b.For("en").Wait(c.d); got != c.en {
			t.Errorf("en Wait(%v) = %q, want %q", c.d, got, c.en)
		}
		if got := b.For("ru").Wait(c.d); got != c.ru {
			t.Errorf("ru Wait(%v) = %q, want %q", c.d, got, c.ru)
		}
	}
}
