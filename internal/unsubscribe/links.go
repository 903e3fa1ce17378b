package unsubscribe

import (
	"html"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"simplesender/internal/render"
)

// Links writes the unsubscribe link, the List-* headers and the footer of
// mailing messages.
type Links struct {
	Keys *Keys
	base string // the base URL without a trailing slash
	host string // the base URL's host name, for List-Id
	// mailto is the address of the inbound unsubscribe mailbox; "" for none.
	mailto string
}

// NewLinks returns the links of a service reached at base (its public base
// URL), with keys derived from secret; mailto is the inbound unsubscribe
// address, "" when there is none.
func NewLinks(base *url.URL, secret []byte, mailto string) *Links {
	host := strings.ToLower(base.Hostname())
	host = strings.Trim(strings.ReplaceAll(host, ":", "-"), "[]") // an IPv6 literal is no dot-atom
	return &Links{Keys: NewKeys(secret), base: strings.TrimSuffix(base.String(), "/"), host: host, mailto: mailto}
}

// URL is the page of token.
func (l *Links) URL(token string) string { return l.base + "/u/" + token }

// ListID is the List-Id identifier of owner's list (RFC 2919): the owner's
// id under the service's host name, e.g. u123.mail.example.com.
func (l *Links) ListID(owner int64) string { return "u" + strconv.FormatInt(owner, 10) + "." + l.host }

// ListIDHeader is the List-Id value of owner's list called name: the name
// as a phrase, then the id in angle brackets. It is ASCII: a name that is
// not is RFC 2047 encoded here, since the id after it must stay as it is;
// control characters in name become spaces.
func (l *Links) ListIDHeader(owner int64, name string) string {
	return phrase(name) + " <" + l.ListID(owner) + ">"
}

// Headers returns the List-Unsubscribe, List-Unsubscribe-Post and List-Id
// headers of a message carrying token, from the list whose List-Id value
// (ListIDHeader) is listID.
func (l *Links) Headers(token, listID string) map[string]string {
	unsub := "<" + l.URL(token) + ">"
	if l.mailto != "" {
		unsub += ", <mailto:" + l.mailto + "?subject=unsubscribe%20" + token + ">"
	}
	return map[string]string{
		"List-Unsubscribe":      unsub,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"List-Id":               listID,
	}
}

// phrase writes name as an RFC 5322 phrase: quoted when ASCII, encoded
// words otherwise.
func phrase(name string) string {
	name = strings.Join(strings.FieldsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }), " ")
	if name == "" {
		name = "mailing list"
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return mime.BEncoding.Encode("utf-8", name) // B: Q would leave ":" and "@" bare in a phrase
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

// Footer is the visible unsubscribe notice appended to a message whose
// body does not place the link itself ({{unsubscribe_url}}). One footer
// serves every message of a run, from any goroutine: its fixed parts are
// written once.
type Footer struct {
	Note   string // the owner's text, or the default one in the recipient's language
	Label  string // the link's words: "Unsubscribe"
	Postal string // the sender's postal address (CAN-SPAM); may be empty, may have several lines

	once                                 sync.Once
	textPre, textPost, htmlPre, htmlPost string // the parts before and after the link
}

func (f *Footer) parts() {
	f.once.Do(func() {
		var b strings.Builder
		b.WriteString("\n\n-- \n")
		if f.Note != "" {
			b.WriteString(f.Note + "\n")
		}
		b.WriteString(f.Label + ": ")
		f.textPre = b.String()
		f.textPost = "\n"
		if f.Postal != "" {
			f.textPost += f.Postal + "\n"
		}
		b.Reset()
		b.WriteString(`<hr><p style="font-size:12px;color:#666">`)
		if f.Note != "" {
			b.WriteString(lines(f.Note) + "<br>")
		}
		b.WriteString(`<a href="`)
		f.htmlPre = b.String()
		f.htmlPost = `">` + html.EscapeString(f.Label) + "</a>"
		if f.Postal != "" {
			f.htmlPost += "<br>" + lines(f.Postal)
		}
		f.htmlPost += "</p>"
	})
}

// Text returns the plain-text footer with link u.
func (f *Footer) Text(u string) string {
	f.parts()
	return f.textPre + u + f.textPost
}

// lines escapes s and keeps its line breaks.
func lines(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

// Apply returns msg with the footer written around a placeholder of the
// unsubscribe link, in the parts that do not place the link themselves:
// the text (unless the message has HTML and no text), and the HTML before
// its closing </body> (or at its end). The owner's texts are HTML-escaped
// in the HTML part, and never read as placeholders. msg is not changed, so
// a run applies its footer once and renders each message in one pass.
func (f *Footer) Apply(msg *render.Message) *render.Message {
	f.parts()
	out := *msg
	if (!msg.Text.Empty() || msg.HTML == nil) && !msg.Text.Uses(render.UnsubscribeURL) {
		out.Text = msg.Text.Around("", f.textPre, render.UnsubscribeURL, f.textPost)
	}
	if msg.HTML != nil && !msg.HTML.Uses(render.UnsubscribeURL) {
		out.HTML = msg.HTML.Around("</body>", f.htmlPre, render.UnsubscribeURL, f.htmlPost)
	}
	return &out
}
