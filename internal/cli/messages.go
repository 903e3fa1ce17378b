package cli

import (
	"sync"

	"simplesender/internal/i18n"
)

var english = sync.OnceValue(func() *i18n.Localizer {
	b, err := i18n.New()
	if err != nil {
		return nil
	}
	return b.For("en")
})

// englishMessage translates a message key for the terminal.
func englishMessage(key string, args ...any) string {
	if l := english(); l != nil && l.Has(key) {
		return l.T(key, append([]any{"Seconds", "?"}, args...)...)
	}
	return key
}
