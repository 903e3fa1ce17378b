package bounce

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// MaxSize is the most Parse reads of a message; the rest is ignored.
const MaxSize = 4 << 20

const (
	maxDepth = 6        // nested multiparts followed
	maxText  = 64 << 10 // text read for the fallback reader
)

// ErrNotMessage is returned for input that is not an e-mail message at all.
var ErrNotMessage = errors.New("bounce: not an e-mail message")

// Parse reads a returned message and returns one report per recipient it
// is about. A message that is not a report gives one report of kind
// Unknown (or AutoReply); an error means the input is not a message.
func Parse(r io.Reader) ([]Report, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(r, MaxSize)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	p := &parser{}
	p.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	top := headerView{h: msg.Header}
	return p.reports(top), nil
}

// parser gathers what the parts of one message say.
type parser struct {
	dsn      []Report // per-recipient blocks of a delivery-status part
	arf      *Report  // the feedback-report part
	orig     *mail.Message
	text     strings.Builder
	isReport bool // multipart/report of any type
}

func (p *parser) walk(ctype, cte string, body io.Reader, depth int) {
	media, params, err := mime.ParseMediaType(ctype)
	if err != nil || media == "" {
		media, params = "text/plain", nil
	}
	body = decodeTransfer(cte, body)
	switch {
	case strings.HasPrefix(media, "multipart/"):
		if depth >= maxDepth || params["boundary"] == "" {
			return
		}
		if media == "multipart/report" {
			p.isReport = true
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err != nil {
				return
			}
			p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1)
		}
	case media == "message/delivery-status" || media == "message/global-delivery-status":
		p.readDSN(body)
	case media == "message/feedback-report":
		p.readARF(body)
	case media == "message/rfc822" || media == "message/global" || media == "text/rfc822-headers" ||
		media == "message/rfc822-headers":
		if p.orig == nil {
			p.readOriginal(body)
		}
	case media == "text/plain" || media == "text/html":
		if p.text.Len() < maxText {
			b, _ := io.ReadAll(io.LimitReader(decodeCharset(params["charset"], body), maxText))
			if media == "text/html" {
				b = stripTags(b)
			}
			p.text.Write(b)
			p.text.WriteByte('\n')
		}
	}
}

// decodeTransfer undoes a Content-Transfer-Encoding (multipart's raw parts
// are not decoded, and neither is a top-level body).
func decodeTransfer(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &noSpace{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// noSpace drops the line breaks and spaces of base64 text.
type noSpace struct{ r io.Reader }

func (n *noSpace) Read(b []byte) (int, error) {
	for {
		c, err := n.r.Read(b)
		w := 0
		for _, x := range b[:c] {
			if x != '\r' && x != '\n' && x != ' ' && x != '\t' {
				b[w] = x
				w++
			}
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

func decodeCharset(charset string, r io.Reader) io.Reader {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "us-ascii" {
		return r
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return r
	}
	return enc.NewDecoder().Reader(r)
}

var tagRe = regexp.MustCompile(`(?s)<[^>]*>`)

func stripTags(b []byte) []byte { return tagRe.ReplaceAll(b, []byte(" ")) }

// fields reads RFC 3464 / RFC 5965 style groups of "Name: value" lines,
// separated by blank lines, continuation lines folded. Names are
// canonical lower-case.
func fields(r io.Reader) []map[string]string {
	var groups []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur, last = map[string]string{}, ""
			}
		case (line[0] == ' ' || line[0] == '\t') && last != "":
			cur[last] += " " + strings.TrimSpace(line)
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(name))
			if _, seen := cur[last]; !seen {
				cur[last] = strings.TrimSpace(value)
			}
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// typed returns the value of a "type; value" field (Final-Recipient:
// rfc822; ann@example.com), or the whole value when it has no type.
func typed(v string) string {
	if _, after, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(after)
	}
	return strings.TrimSpace(v)
}

func (p *parser) readDSN(r io.Reader) {
	groups := fields(r)
	if len(groups) == 0 {
		return
	}
	for _, g := range groups[1:] { // the first group is about the message
		rcpt := typed(g["final-recipient"])
		if rcpt == "" {
			rcpt = typed(g["original-recipient"])
		}
		if rcpt == "" {
			continue
		}
		diag := typed(g["diagnostic-code"])
		status, _, _ := strings.Cut(strings.TrimSpace(g["status"]), " ")
		if _, _, _, ok := splitStatus(status); !ok {
			status = findStatus(diag)
		}
		action := strings.ToLower(strings.TrimSpace(g["action"]))
		p.dsn = append(p.dsn, Report{
			Source: SourceDSN, Recipient: address(rcpt), Action: action, Status: status,
			Diagnostic: clean(diag, MaxDiagnostic), RemoteMTA: clean(typed(g["remote-mta"]), 255),
			Kind: Classify(action, status, diag),
		})
	}
}

func (p *parser) readARF(r io.Reader) {
	groups := fields(r)
	if len(groups) == 0 || p.arf != nil {
		return
	}
	g := groups[0]
	ft := strings.ToLower(strings.TrimSpace(g["feedback-type"]))
	rep := &Report{Source: SourceARF, FeedbackType: clean(ft, 64), Kind: Unknown}
	switch ft {
	case "abuse", "fraud", "other", "virus":
		rep.Kind = Complaint
	}
	rep.Recipient = address(g["original-rcpt-to"])
	if rep.Recipient == "" {
		rep.Recipient = address(g["removal-recipient"])
	}
	p.arf = rep
}

func (p *parser) readOriginal(r io.Reader) {
	b, _ := io.ReadAll(io.LimitReader(r, 256<<10))
	if !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
		b = append(b, "\r\n\r\n"...) // headers only
	}
	if m, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
		p.orig = m
	}
}

// reports turns what was gathered into the message's reports.
func (p *parser) reports(top headerView) []Report {
	var out []Report
	switch {
	case p.arf != nil:
		out = []Report{*p.arf}
	case len(p.dsn) > 0:
		out = p.dsn
	case isBounce(top, p.isReport):
		out = []Report{p.fromText(top)}
	case isAutoReply(top):
		out = []Report{{Kind: AutoReply, Source: SourceAutoReply}}
	default:
		out = []Report{{Kind: Unknown}}
	}
	if p.orig != nil {
		h := headerView{h: p.orig.Header}
		for i := range out {
			out[i].MessageID = clean(h.get("Message-Id"), 255)
			out[i].ReturnPath = address(h.get("Return-Path"))
			out[i].OriginalTo = address(h.get("To"))
			if out[i].Recipient == "" && out[i].Kind == Complaint {
				out[i].Recipient = out[i].OriginalTo
			}
		}
	}
	return out
}

var (
	// Where plain-text bounces name the failed address: qmail and Yahoo
	// ("<ann@example.com>:"), Exim (an indented address on its own line),
	// and "RCPT TO:<...>" quoted from the dialogue.
	rcptToRe   = regexp.MustCompile(`(?i)RCPT TO:\s*<([^<>\s]+@[^<>\s]+)>`)
	bracketRe  = regexp.MustCompile(`(?m)^\s*<([^<>\s]+@[^<>\s]+)>:?\s*$|^<([^<>\s]+@[^<>\s]+)>:`)
	aloneRe    = regexp.MustCompile(`(?m)^[ \t]+([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)[ \t]*$`)
	anyAddrRe  = regexp.MustCompile(`<?([A-Za-z0-9._%+\-=]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})>?`)
	delayWords = []string{"delayed", "will retry", "still trying", "not yet been delivered",
		"warning: message", "задерж"}
)

// fromText reads a bounce that has no delivery-status part.
func (p *parser) fromText(top headerView) Report {
	text := p.text.String()
	rep := Report{Source: SourceText, Action: "failed"}
	var sender string
	if p.orig != nil {
		sender = address(p.orig.Header.Get("From"))
	}
	for _, re := range []*regexp.Regexp{rcptToRe, bracketRe, aloneRe} {
		if m := re.FindStringSubmatch(text); m != nil {
			for _, g := range m[1:] {
				if g != "" {
					rep.Recipient = address(g)
					break
				}
			}
			if rep.Recipient != "" {
				break
			}
		}
	}
	if rep.Recipient == "" {
		for _, m := range anyAddrRe.FindAllStringSubmatch(text, 20) {
			a := address(m[1])
			if a != sender && !isDaemon(a) {
				rep.Recipient = a
				break
			}
		}
	}
	rep.Status = findStatus(text)
	rep.Diagnostic = clean(diagnosticLine(text, rep.Status), MaxDiagnostic)
	lower := strings.ToLower(top.subject() + "\n" + text)
	for _, w := range delayWords {
		if strings.Contains(lower, w) && !strings.Contains(lower, "permanent") {
			rep.Kind, rep.Action = Delayed, "delayed"
			return rep
		}
	}
	rep.Kind = Classify("failed", rep.Status, diagWords(rep.Diagnostic, text))
	return rep
}

// diagWords is the text the classifier reads: the diagnostic line, or the
// whole text when no line was found.
func diagWords(diag, text string) string {
	if diag != "" {
		return diag
	}
	return text
}

// diagnosticLine returns the line that holds the status code or a basic
// reply code, with the next line when it continues it.
func diagnosticLine(text, status string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if (status != "" && strings.Contains(l, status)) || (status == "" && basicRe.MatchString(l)) {
			out := strings.TrimSpace(l)
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") && strings.TrimSpace(lines[i+1]) != "" {
				out += " " + strings.TrimSpace(lines[i+1])
			}
			return out
		}
	}
	for _, l := range lines { // no code: the line whose words say what happened
		if wordsKind(l) != "" {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// address returns the bare, lower-case address of "Name <a@b>", "<a@b>" or
// "a@b"; "" when there is none.
func address(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "<>" {
		return ""
	}
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address)
	}
	s = strings.Trim(s, "<> \t\"'")
	if !strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return strings.ToLower(s)
}

func isDaemon(a string) bool {
	local, _, _ := strings.Cut(a, "@")
	switch strings.ToLower(local) {
	case "mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon":
		return true
	}
	return false
}
