// Package webhook posts signed JSON to the endpoints users give, safely:
// addresses that resolve to the service's own network are refused (unless
// allowed), every request has a time limit and only the start of an answer
// is read. It knows nothing of the rest of the service.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SignatureHeader is the header that carries a request's signature.
const SignatureHeader = "Simplesender-Signature"

// Sign returns the value of SignatureHeader for body sent at t:
// "t=UNIX,v1=HEX", HEX being HMAC-SHA256 keyed by secret of the decimal
// UNIX time, a full stop and the body.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks header (the value of SignatureHeader) against body and
// secret, as a receiver does: one of its v1 signatures must match and its
// time must be within tolerance of now (no check when tolerance is 0).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook: malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); tolerance > 0 && (d > tolerance || d < -tolerance) {
		return errors.New("webhook: signature too old")
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: signature does not match")
}

// NewSecret returns a new random signing secret ("whsec_" and 48 hex digits).
func NewSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return "whsec_" + hex.EncodeToString(b)
}

// Errors of CheckURL.
var (
	// ErrURL: not an absolute http or https URL with a host (and no user
	// name or password).
	ErrURL = errors.New("webhook: the URL must be an http or https address")
	// ErrPrivate: the host is, or resolves to, a loopback, private,
	// link-local or otherwise internal address.
	ErrPrivate = errors.New("webhook: the address is on an internal network")
	// ErrResolve: the host name does not resolve.
	ErrResolve = errors.New("webhook: the host name does not resolve")
)

// CheckURL checks that raw is an http or https URL whose host resolves to
// public addresses only (any address when allowPrivate). It returns
// ErrURL, ErrPrivate or ErrResolve. The check is repeated when connecting,
// so a name that later resolves elsewhere gets no further.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
		len(raw) > 2000 || strings.ContainsAny(raw, " \r\n\t") {
		return ErrURL
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Internal(ip) {
			return ErrPrivate
		}
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return ErrResolve
	}
	for _, a := range addrs {
		if Internal(a) {
			return ErrPrivate
		}
	}
	return nil
}

// internalNets are the ranges beyond netip's own tests that no public
// service lives in.
var internalNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 of any IPv4 address
}

// Internal reports whether ip is loopback, private, link-local, multicast,
// unspecified or in another range that is not the public Internet.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return true
	}
	for _, p := range internalNets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Limits of a request.
const (
	// Timeout bounds a whole request, from connecting to the answer read.
	Timeout = 10 * time.Second
	// ResponseLimit is how much of an answer's body is read and kept.
	ResponseLimit = 1024
)

// Client posts batches to endpoints.
type Client struct {
	http *http.Client
}

// NewClient returns a Client that refuses to connect to internal addresses
// unless allowPrivate, follows no redirects and ignores proxy settings.
func NewClient(allowPrivate bool) *Client {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || Internal(ip) {
			return ErrPrivate
		}
		return nil
	}}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 5 * time.Second,
		ResponseHeaderTimeout: Timeout, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, ForceAttemptHTTP2: true}
	return &Client{http: &http.Client{Transport: tr, Timeout: Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Result is what one request got.
type Result struct {
	Status   int           // the HTTP status; 0 when none came
	Duration time.Duration // from sending to the end of the answer read
	Error    string        // why it failed: "" for a 2xx answer
	Response string        // the start of the answer's body, valid UTF-8
}

// OK reports whether the endpoint took the batch (a 2xx answer).
func (r Result) OK() bool { return r.Error == "" }

// Post sends body to rawURL signed with secret at now, with the given
// event count in a header, and returns what came back. It never returns a
// Go error: a failure is in Result.Error.
func (c *Client) Post(ctx context.Context, rawURL, secret string, body []byte, now time.Time, userAgent string) Result {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Result{Error: "bad URL", Duration: time.Since(start)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Error: describe(err), Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, ResponseLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	res := Result{Status: resp.StatusCode, Duration: time.Since(start), Response: clean(b)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return res
}

// describe says why a request failed, without the URL (shown beside it).
func describe(err error) string {
	switch {
	case errors.Is(err, ErrPrivate):
		return "refused: the address is on an internal network"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out after " + Timeout.String()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out after " + Timeout.String()
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// clean makes b valid UTF-8 without control characters but newlines and tabs.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
