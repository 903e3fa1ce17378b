package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Every redirect of the UI goes through redirect, and every target that came
// from a request (next=, return=) through localTarget first: the one place
// that decides where a browser may be sent.

// redirect answers 303 See Other to target, which must be a path of this
// site as localTarget accepts it; anything else sends the browser to "/".
// The Location sent is exactly the checked target: nothing cleans it
// afterwards (http.Redirect would, and cleaning /x/../\evil gives /\evil).
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	w.Header().Set("Location", localTarget(target, "/"))
	w.WriteHeader(http.StatusSeeOther)
}

// maxTarget bounds the length of a target we send back.
const maxTarget = 2048

// localTarget returns target in the form to send as a Location, when it is
// an absolute path of this site that every browser resolves on this origin;
// otherwise def (a target of our own, or "" for none).
//
// Accepted: a path starting with one "/", optionally with a query. Refused:
// anything with a scheme or a host ("https:evil", "//evil"), a backslash
// (browsers read it as "/", so "/\evil" is "//evil"), raw or percent-encoded
// ("%5c"), or a control character (browsers drop tabs and line breaks, so
// "/\t/evil" is "//evil"). The path is cleaned here (dot segments, repeated
// slashes), and the cleaned form is checked again: the target we judge is
// the target we send. The fragment is dropped.
func localTarget(target, def string) string {
	if t, ok := cleanTarget(target); ok {
		return t
	}
	return def
}

func cleanTarget(s string) (string, bool) {
	if s == "" || len(s) > maxTarget || s[0] != '/' || badTargetChars(s) {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || badTargetChars(u.Path) {
		return "", false
	}
	p := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/"
	}
	out := (&url.URL{Path: p}).EscapedPath()
	if u.RawQuery != "" {
		out += "?" + escapeQuery(u.RawQuery)
	}
	if !sameOriginPath(out) {
		return "", false
	}
	return out, true
}

// badTargetChars reports a backslash or a control character in s.
func badTargetChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	return false
}

// sameOriginPath reports whether t, as sent, is an absolute path that a
// browser resolves on the origin of the page: it starts with exactly one
// slash and holds nothing a browser would drop or read as a slash.
func sameOriginPath(t string) bool {
	if t == "" || t[0] != '/' || (len(t) > 1 && (t[1] == '/' || t[1] == '\\')) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return !strings.HasPrefix(strings.ToLower(t), "/%5c")
}

// escapeQuery percent-encodes the bytes of a raw query that do not belong in
// a header (spaces, non-ASCII), leaving the rest as it is.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= 0x20 || c >= 0x7f || c == '\\' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
