package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"simplesender/internal/mailer"
)

// SMTPServer is one server of SIMPLESENDER_SMTP_URL.
type SMTPServer struct {
	// URL is the server's URL without the conns and rate options (with
	// tls=, which is mailer's), as mailer.NewSMTP takes it. It may hold a password: never log or show it.
	URL   string
	Conns int     // most connections open to the server at once
	Rate  float64 // most messages per second to the server; 0: no limit
	// IdleTimeout is how long a connection kept for reuse may stay idle.
	IdleTimeout time.Duration
}

// Bounds of an idle timeout: below a second a connection is hardly reused;
// beyond an hour no server keeps one.
const (
	minIdleTimeout = time.Second
	maxIdleTimeout = time.Hour
)

// maxRate bounds a rate: beyond it a limit means nothing, and a burst as
// large would be absurd.
const maxRate = 1e6

// MaxConns is the most SMTP connections: to one server, and for mailings
// over all servers together.
const MaxConns = 200

// minRate is the smallest rate other than 0 (one message in about 17
// minutes): a smaller one would overflow the wait it means.
const minRate = 0.001

// parseSMTPServers splits s into URLs (separated by commas or white space),
// takes each one's ?conns=, ?rate= and ?idle= options off (?tls= stays), and
// validates the rest as mailer.NewSMTP will. conns, rate and idle are the
// defaults of the options. Errors
// never quote a URL, which may hold a password; with several servers they say
// which one ("server 2: ...").
func parseSMTPServers(s string, conns int, rate float64, idle time.Duration) ([]SMTPServer, error) {
	raw := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if s != "" && len(raw) == 0 {
		return nil, errors.New("want smtp://user:pass@host:port or smtps://..., several separated by commas")
	}
	for _, item := range raw {
		if !strings.Contains(item, "://") {
			// Not a URL: most likely the rest of a password with an
			// unencoded comma or space, split off its URL. Parsing either
			// piece would quote a part of the password.
			return nil, errBadSMTPURL
		}
	}
	var out []SMTPServer
	for i, item := range raw {
		srv, err := parseSMTPServer(item, conns, rate, idle)
		if err != nil {
			if len(raw) > 1 {
				return nil, fmt.Errorf("server %d: %w", i+1, err)
			}
			return nil, err
		}
		out = append(out, srv)
	}
	return out, nil
}

func parseSMTPServer(item string, conns int, rate float64, idle time.Duration) (SMTPServer, error) {
	// A password with an unencoded / ? or # would end the URL's authority
	// early, and the messages below would quote a piece of it.
	scheme := strings.Index(item, "://")
	if strings.ContainsAny(item[scheme+3:max(strings.LastIndex(item, "@"), scheme+3)], "/?#") {
		return SMTPServer{}, errBadSMTPURL
	}
	// url.Parse also ends the authority at the first "?", so cutting here
	// leaves exactly the URL that mailer.ParseSMTPURL would have seen.
	base, query, _ := strings.Cut(item, "?")
	srv := SMTPServer{URL: base, Conns: conns, Rate: rate, IdleTimeout: idle}
	opts, err := url.ParseQuery(query)
	if err != nil {
		return SMTPServer{}, errors.New("options after ? must be conns=N, rate=R, idle=D or tls=none, such as ?conns=5&rate=10")
	}
	for k, v := range opts {
		if len(v) != 1 {
			return SMTPServer{}, fmt.Errorf("option %q is given more than once", k)
		}
		switch k {
		case "conns":
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > MaxConns {
				return SMTPServer{}, fmt.Errorf("conns: want a number of connections from 1 to %d, such as ?conns=5", MaxConns)
			}
			srv.Conns = n
		case "rate":
			if srv.Rate, err = parseRate(v[0]); err != nil {
				return SMTPServer{}, errors.New("rate: want messages per second, 0 (no limit) or from 0.001 up, such as ?rate=50 or ?rate=0.5")
			}
		case "idle":
			if srv.IdleTimeout, err = parseIdleTimeout(v[0]); err != nil {
				return SMTPServer{}, errors.New("idle: want a duration from 1s to 1h, such as ?idle=15s")
			}
		case "tls":
			// The mailer's own option: it stays on the URL.
			srv.URL += "?tls=" + url.QueryEscape(v[0])
		default:
			return SMTPServer{}, fmt.Errorf("unknown option %q; the options are conns, rate, idle and tls, such as ?conns=5&rate=10", k)
		}
	}
	if _, err := mailer.ParseSMTPURL(srv.URL); err != nil {
		return SMTPServer{}, err
	}
	return srv, nil
}

var errBadSMTPURL = errors.New("want smtp://user:pass@host:port or smtps://...; percent-encode , ? # / % @ : and " +
	"spaces in a user name or password, such as %2C for a comma")

// parseRate parses a number of messages per second: 0 (no limit), or from
// minRate up to maxRate.
func parseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(r) || r < 0 || r > 0 && r < minRate || r > maxRate {
		return 0, errors.New("not a rate")
	}
	return r, nil
}

// parseIdleTimeout parses how long a connection may stay idle.
func parseIdleTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < minIdleTimeout || d > maxIdleTimeout {
		return 0, errors.New("not an idle timeout")
	}
	return d, nil
}
