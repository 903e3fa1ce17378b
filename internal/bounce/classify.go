package bounce

import (
	"regexp"
	"strconv"
	"strings"
)

// Classify says what a failure means, from the RFC 3464 action, the RFC
// 3463 enhanced status code and the server's words. The action and the
// status decide when they can; the words decide what the code leaves open
// (5.0.0, 5.7.1 used for unknown users, servers that give no code) and
// never turn a temporary failure into a permanent one.
func Classify(action, status, diagnostic string) Kind {
	switch strings.ToLower(strings.TrimSpace(action)) {
	case "delayed":
		return Delayed
	case "delivered", "relayed", "expanded":
		return Delivered
	}
	class, subject, detail, ok := splitStatus(status)
	if !ok {
		// No enhanced code: the basic reply code in the words, if any.
		class, ok = basicClass(diagnostic)
		subject, detail = 0, 0
	}
	words := wordsKind(diagnostic)
	switch {
	case !ok:
		if words != "" {
			return words
		}
		if strings.EqualFold(strings.TrimSpace(action), "failed") {
			return Hard
		}
		return Unknown
	case class == 2:
		return Delivered
	case class == 4:
		if words == Policy {
			return Policy
		}
		return Soft
	}
	// class 5: permanent.
	switch subject {
	case 1: // addressing
		switch detail {
		case 7, 8: // the sender's address is bad: not the recipient's fault
			return Policy
		}
		return Hard
	case 2: // mailbox
		switch detail {
		case 2: // mailbox full
			return Soft
		case 3: // message too long for the mailbox
			return Policy
		}
		return Hard
	case 3: // mail system
		if detail == 4 { // message too big for the system
			return Policy
		}
		return Soft
	case 4: // network and routing
		switch detail {
		case 1, 4: // no answer from the host, unable to route: no such domain
			return Hard
		}
		return Soft
	case 5, 6: // protocol, content
		return Policy
	case 7: // security and policy: mostly about the sender, but some servers
		// answer an unknown user with 5.7.1
		if words == Hard {
			return Hard
		}
		return Policy
	}
	// 5.0.0 and anything unassigned: the words decide; a permanent failure
	// that says nothing more is taken at its word.
	if words != "" {
		return words
	}
	return Hard
}

// splitStatus reads "5.1.1" as its three numbers.
func splitStatus(s string) (class, subject, detail int, ok bool) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 999 || len(p) > 3 {
			return 0, 0, 0, false
		}
		n[i] = v
	}
	if n[0] != 2 && n[0] != 4 && n[0] != 5 {
		return 0, 0, 0, false
	}
	return n[0], n[1], n[2], true
}

var (
	enhancedRe = regexp.MustCompile(`(?:^|[^0-9.])([245])\.(\d{1,3})\.(\d{1,3})(?:[^0-9.]|$)`)
	basicRe    = regexp.MustCompile(`(?:^|[^0-9.])([45])\d\d(?:[ :-]|$)`)
)

// findStatus returns the first enhanced status code in text ("5.1.1"), or "".
func findStatus(text string) string {
	m := enhancedRe.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1] + "." + m[2] + "." + m[3]
}

// basicClass finds a basic SMTP reply code (4xx or 5xx) in text.
func basicClass(text string) (int, bool) {
	m := basicRe.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	return int(m[1][0] - '0'), true
}

// The words of common bounces, in English and Russian. Order matters: a
// full mailbox is soft even when the text also says "rejected"; a policy
// block is not the address's fault even when it says "undeliverable".
var wordRules = []struct {
	kind  Kind
	words []string
}{
	{Soft, []string{"mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
		"insufficient storage", "mailbox size limit", "out of storage", "ящик переполнен", "превышен лимит",
		"недостаточно места", "try again later", "temporarily", "greylist", "graylist"}},
	{Policy, []string{"spam", "blocked", "blacklist", "block list", "blocklist", "denylist", "reputation",
		"dmarc", "spf ", "spf:", "dkim", "not authorized to send", "policy", "rejected due to",
		"banned", "message content", "virus", "too large", "size exceeds", "спам", "заблокирован"}},
	{Hard, []string{"user unknown", "unknown user", "no such user", "no such mailbox", "no mailbox",
		"mailbox unavailable", "mailbox not found", "does not exist", "doesn't exist", "invalid recipient",
		"invalid mailbox", "recipient not found",
		"account disabled", "account has been disabled", "mailbox disabled", "no longer active",
		"unrouteable address", "host not found", "domain not found", "no such domain", "doesn't have a",
		"not our customer", "user not found", "address not found",
		"нет такого", "не существует", "несуществующ", "адрес не найден", "пользователь не найден",
		"ящик не найден", "invalid address"}},
}

// wordsKind classifies a server's words alone; "" when they say nothing
// this package knows.
func wordsKind(text string) Kind {
	if text == "" {
		return ""
	}
	t := strings.ToLower(text)
	for _, r := range wordRules {
		for _, w := range r.words {
			if strings.Contains(t, w) {
				return r.kind
			}
		}
	}
	return ""
}
