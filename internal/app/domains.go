package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"net"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/dkim"
	"simplesender/internal/store"
)

// Resolver looks up DNS TXT records (a *net.Resolver; tests serve their own).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NewKeyring returns the DKIM keyring that signs with db's active keys
// (shared by the app's test sends and the engine).
func NewKeyring(db *store.DB, sealer *dkim.Sealer) *dkim.Keyring {
	return dkim.NewKeyring(sealer, func(ctx context.Context, owner int64, domain string) ([]*simplesender.DKIMKey, error) {
		return db.Store().SigningKeys(ctx, owner, domain)
	}, 0)
}

// VerifyPrefix starts the TXT record that proves a domain is the user's.
const VerifyPrefix = "simplesender-verify="

// DomainVerification returns where the owner of d publishes the token that
// proves the domain theirs (a TXT record at name; the domain itself is
// accepted too) and the record's value. The token is an HMAC of the owner
// and the domain under the service secret: nothing to store, and nobody
// can make another user's.
func (a *App) DomainVerification(d *simplesender.SenderDomain) (name, value string) {
	m := hmac.New(sha256.New, a.domainMAC)
	m.Write([]byte(strconv.FormatInt(d.OwnerID, 10) + ":" + d.Domain))
	tok := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:20]))
	return "_simplesender." + d.Domain, VerifyPrefix + tok
}

// normalizeDomain returns s as a lower-case DNS name of at least two
// labels, or "" when it is not one.
func normalizeDomain(s string) string {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if len(s) > 253 || !strings.Contains(s, ".") {
		return ""
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return ""
			}
		}
	}
	return s
}

// ListDomains returns the actor's sender domains with their keys, or for
// managers and admins everyone's. Errors: Unauthenticated.
func (a *App) ListDomains(ctx context.Context, ac *Actor) ([]*simplesender.SenderDomain, error) {
	owner, err := everyoneFor(ac)
	if err != nil {
		return nil, err
	}
	return a.DB.Store().ListDomains(ctx, owner)
}

// GetDomain returns domain id with its keys when the actor may see it.
// Errors: NotFound (also another user's, for a regular user).
func (a *App) GetDomain(ctx context.Context, ac *Actor, id int64) (*simplesender.SenderDomain, error) {
	d, err := a.DB.Store().DomainByID(ctx, 0, id)
	if err != nil {
		return nil, err
	}
	if err := authorize(ac, ActView, d.OwnerID); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *App) domainFor(ctx context.Context, ac *Actor, id int64) (*simplesender.SenderDomain, error) {
	d, err := a.GetDomain(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	return d, writable(ac, d.OwnerID)
}

// AddDomain adds a domain the actor wants to send from, unverified.
// Errors: Invalid (domain), Conflict (already added), Forbidden (managers).
func (a *App) AddDomain(ctx context.Context, ac *Actor, name string) (*simplesender.SenderDomain, error) {
	if err := authorize(ac, ActCreate, ac.id()); err != nil {
		return nil, err
	}
	n := normalizeDomain(name)
	if n == "" {
		return nil, simplesender.Invalid(map[string]string{"domain": "error.domain.invalid"})
	}
	d := &simplesender.SenderDomain{OwnerID: ac.id(), Domain: n}
	if err := a.DB.Store().CreateDomain(ctx, d); err != nil {
		if simplesender.IsKind(err, simplesender.KindConflict) {
			return nil, &simplesender.Error{Kind: simplesender.KindConflict, Message: "error.domain.exists",
				Fields: map[string]string{"domain": "error.domain.exists"}}
		}
		return nil, err
	}
	return a.GetDomain(ctx, ac, d.ID)
}

// DeleteDomain deletes domain id and its DKIM keys. Errors: NotFound,
// Forbidden.
func (a *App) DeleteDomain(ctx context.Context, ac *Actor, id int64) error {
	d, err := a.domainFor(ctx, ac, id)
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.DeleteDomain(ctx, d.OwnerID, id); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, d.OwnerID, "domain", id, "delete")
	})
	a.Keys.Forget(d.OwnerID, d.Domain)
	return err
}

// lookupTXT returns the TXT records at name, each one's strings joined; a
// name with no record is no record, not an error. Errors: Unavailable.
func (a *App) lookupTXT(ctx context.Context, name string) ([]string, error) {
	recs, err := a.DNS.LookupTXT(ctx, name)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, &simplesender.Error{Kind: simplesender.KindUnavailable, Message: "error.domain.dns", Cause: err}
	}
	return recs, nil
}

// VerifyDomain looks for the verification record of domain id (see
// DomainVerification) and, when it is there, marks the domain verified and
// makes its first DKIM keys (RSA 2048 and Ed25519, signing at once).
// Errors: NotFound, Forbidden, Conflict (the record is not found),
// Unavailable (DNS).
func (a *App) VerifyDomain(ctx context.Context, ac *Actor, id int64) (*simplesender.SenderDomain, error) {
	d, err := a.domainFor(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	name, value := a.DomainVerification(d)
	found := false
	for _, n := range []string{name, d.Domain} {
		recs, err := a.lookupTXT(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			found = found || strings.TrimSpace(r) == value
		}
	}
	if !found {
		return nil, simplesender.E(simplesender.KindConflict, "error.domain.token_not_found")
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.MarkDomainVerified(ctx, d.OwnerID, id, a.Now()); err != nil {
			return err
		}
		if len(d.Keys) == 0 {
			return a.addKeys(ctx, s, d, simplesender.KeyActive)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Keys.Forget(d.OwnerID, d.Domain)
	return a.GetDomain(ctx, ac, id)
}

// addKeys makes a new generation of keys of d (RSA and Ed25519) in state.
// Selectors are ss<generation>r and ss<generation>e.
func (a *App) addKeys(ctx context.Context, s *store.Store, d *simplesender.SenderDomain, state string) error {
	gen := 1
	for _, k := range d.Keys {
		if n, err := strconv.Atoi(strings.TrimRight(strings.TrimPrefix(k.Selector, "ss"), "re")); err == nil && n >= gen {
			gen = n + 1
		}
	}
	var keys []*simplesender.DKIMKey
	for _, alg := range []string{simplesender.KeyRSA, simplesender.KeyEd25519} {
		priv, pub, err := dkim.Generate(alg)
		if err != nil {
			return simplesender.Errorf("generate DKIM key: %w", err)
		}
		keys = append(keys, &simplesender.DKIMKey{DomainID: d.ID, Selector: "ss" + strconv.Itoa(gen) + alg[:1],
			Algorithm: alg, PrivateKey: a.sealer.Seal(priv), PublicKey: pub, State: state})
	}
	return s.AddDKIMKeys(ctx, d.OwnerID, keys...)
}

// RotateKeys starts a key rotation of verified domain id: a new pair of
// keys under new selectors, to publish first; SwitchKeys then makes them
// sign. Errors: NotFound, Forbidden, Conflict (not verified, or a rotation
// is already waiting).
func (a *App) RotateKeys(ctx context.Context, ac *Actor, id int64) error {
	d, err := a.domainFor(ctx, ac, id)
	if err != nil {
		return err
	}
	if !d.Verified() {
		return simplesender.E(simplesender.KindConflict, "error.domain.unverified")
	}
	for _, k := range d.Keys {
		if k.State == simplesender.KeyNext {
			return simplesender.E(simplesender.KindConflict, "error.domain.rotation_waiting")
		}
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := a.addKeys(ctx, s, d, simplesender.KeyNext); err != nil {
			return err
		}
		return auditOnBehalf(ctx, s, ac, d.OwnerID, "domain", id, "rotate")
	})
}

// SwitchKeys makes the new keys of a rotation of domain id sign; the old
// ones stop signing and stay listed (retired) until RemoveRetiredKeys, so
// that messages signed with them still verify while their records are
// published. Errors: NotFound, Forbidden, Conflict (no rotation waiting).
func (a *App) SwitchKeys(ctx context.Context, ac *Actor, id int64) error {
	d, err := a.domainFor(ctx, ac, id)
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if _, err := s.DeleteKeys(ctx, d.OwnerID, id, simplesender.KeyRetired); err != nil {
			return err
		}
		if _, err := s.SetKeyState(ctx, d.OwnerID, id, simplesender.KeyActive, simplesender.KeyRetired); err != nil {
			return err
		}
		n, err := s.SetKeyState(ctx, d.OwnerID, id, simplesender.KeyNext, simplesender.KeyActive)
		if err == nil && n == 0 {
			return simplesender.E(simplesender.KindConflict, "error.domain.no_rotation")
		}
		return err
	})
	a.Keys.Forget(d.OwnerID, d.Domain)
	return err
}

// RemoveRetiredKeys deletes the retired keys of domain id (their records
// may then be removed from DNS). Errors: NotFound, Forbidden.
func (a *App) RemoveRetiredKeys(ctx context.Context, ac *Actor, id int64) error {
	d, err := a.domainFor(ctx, ac, id)
	if err != nil {
		return err
	}
	_, err = a.DB.Store().DeleteKeys(ctx, d.OwnerID, id, simplesender.KeyRetired)
	return err
}

// KeyHealth is what DNS says of one DKIM key.
type KeyHealth struct {
	Key     *simplesender.DKIMKey
	Name    string // where its record goes
	Record  string // the record to publish
	Found   bool   // a TXT record is there
	Matches bool   // and holds this key
}

// DomainHealth is what a domain lacks for the bulk-sender rules of Gmail,
// Yahoo and Outlook.com.
type DomainHealth struct {
	Domain *simplesender.SenderDomain
	// VerifyName and VerifyValue are the verification record.
	VerifyName, VerifyValue string
	Keys                    []KeyHealth
	DKIM                    bool   // every signing key's record is published and matches
	SPF                     string // the SPF record found, "" for none
	DMARC                   string // the DMARC record found, "" for none
	DMARCAligned            bool   // DMARC passes with our DKIM signature (d= is the From domain)
	// Advice are message keys of what to do, in order.
	Advice []string
}

// CheckDomain looks up domain id's DKIM, SPF and DMARC records. Errors:
// NotFound, Unavailable (DNS).
func (a *App) CheckDomain(ctx context.Context, ac *Actor, id int64) (*DomainHealth, error) {
	d, err := a.GetDomain(ctx, ac, id)
	if err != nil {
		return nil, err
	}
	h := a.DomainRecords(d)
	h.DKIM = d.Verified()
	for i := range h.Keys {
		k := &h.Keys[i]
		recs, err := a.lookupTXT(ctx, k.Name)
		if err != nil {
			return nil, err
		}
		k.Found, k.Matches = len(recs) > 0, dkim.RecordMatches(recs, k.Key.PublicKey)
		if k.Key.State == simplesender.KeyActive && !k.Matches {
			h.DKIM = false
		}
	}
	recs, err := a.lookupTXT(ctx, d.Domain)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if strings.HasPrefix(strings.ToLower(r), "v=spf1") {
			h.SPF = r
		}
	}
	if recs, err = a.lookupTXT(ctx, "_dmarc."+d.Domain); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if strings.HasPrefix(strings.ToUpper(strings.ReplaceAll(r, " ", "")), "V=DMARC1") {
			h.DMARC = r
		}
	}
	// Our signature's d= is the From domain itself, so DMARC aligns by
	// DKIM in relaxed and strict mode alike once the key verifies.
	h.DMARCAligned = h.DMARC != "" && h.DKIM
	switch {
	case !d.Verified():
		h.Advice = append(h.Advice, "domain.advice.verify")
	case !h.DKIM:
		h.Advice = append(h.Advice, "domain.advice.dkim")
	}
	if h.SPF == "" {
		h.Advice = append(h.Advice, "domain.advice.spf")
	}
	if h.DMARC == "" {
		h.Advice = append(h.Advice, "domain.advice.dmarc")
	}
	if len(h.Advice) == 0 {
		h.Advice = append(h.Advice, "domain.advice.ok")
	}
	h.Advice = append(h.Advice, "domain.advice.bulk")
	return h, nil
}

// DomainRecords returns the records to publish for d, without looking
// anything up.
func (a *App) DomainRecords(d *simplesender.SenderDomain) *DomainHealth {
	h := &DomainHealth{Domain: d}
	h.VerifyName, h.VerifyValue = a.DomainVerification(d)
	for _, k := range d.Keys {
		h.Keys = append(h.Keys, KeyHealth{Key: k, Name: dkim.RecordName(k.Selector, d.Domain), Record: dkim.Record(k.Algorithm, k.PublicKey)})
	}
	return h
}

// DomainRules returns the admins' rules on domains and the domains allowed
// by configuration. Managers and admins only (Forbidden).
func (a *App) DomainRules(ctx context.Context, ac *Actor) ([]*simplesender.DomainRule, []string, error) {
	if err := staffOnly(ac, false); err != nil {
		return nil, nil, err
	}
	rules, err := a.DB.Store().DomainRules(ctx)
	return rules, a.AllowedFromDomains, err
}

// SetDomainRule allows (or forbids) domain for everyone. Admins only
// (Forbidden). Errors: Invalid (domain).
func (a *App) SetDomainRule(ctx context.Context, ac *Actor, domain string, allowed bool) error {
	if err := staffOnly(ac, true); err != nil {
		return err
	}
	n := normalizeDomain(domain)
	if n == "" {
		return simplesender.Invalid(map[string]string{"domain": "error.domain.invalid"})
	}
	return a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.SetDomainRule(ctx, n, allowed, ac.id()); err != nil {
			return err
		}
		action := "domain.forbid"
		if allowed {
			action = "domain.allow"
		}
		return s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), Action: action, TargetType: "domain", Detail: n})
	})
}

// DeleteDomainRule drops the admins' rule on domain. Admins only
// (Forbidden). Errors: NotFound.
func (a *App) DeleteDomainRule(ctx context.Context, ac *Actor, domain string) error {
	if err := staffOnly(ac, true); err != nil {
		return err
	}
	return a.DB.Store().DeleteDomainRule(ctx, domain)
}

// staffOnly lets managers (when act is false: looking) and admins through.
func staffOnly(ac *Actor, act bool) error {
	switch {
	case ac.isSystem():
		return nil
	case ac.anonymous():
		return errUnauthenticated
	case ac.role() == simplesender.RoleAdmin:
		return nil
	case ac.role() == simplesender.RoleManager && !act:
		return nil
	case ac.role() == simplesender.RoleManager:
		return errManagerReadOnly
	}
	return errForbidden
}
