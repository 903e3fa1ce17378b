package api

import (
	"net/http"

	"simplesender"
	"simplesender/internal/app"
)

// identityJSON is a sender identity.
type identityJSON struct {
	ID         int64  `json:"id"`
	OwnerID    int64  `json:"owner_id"`
	OwnerEmail string `json:"owner_email"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	ReplyTo    string `json:"reply_to"`
	Default    bool   `json:"default"`
	CreatedAt  string `json:"created_at"`
	UpdatedAt  string `json:"updated_at"`
}

func identityOf(i *simplesender.Identity) identityJSON {
	return identityJSON{ID: i.ID, OwnerID: i.OwnerID, OwnerEmail: i.OwnerEmail, Name: i.Name, Email: i.Email, ReplyTo: i.ReplyTo,
		Default: i.Default, CreatedAt: timeJSON(i.CreatedAt), UpdatedAt: timeJSON(i.UpdatedAt)}
}

// identityInput is the body of POST and PATCH /identities; nil is absent.
type identityInput struct {
	Name    *string `json:"name"`
	Email   *string `json:"email"`
	ReplyTo *string `json:"reply_to"`
	Default *bool   `json:"default"`
}

func (in identityInput) over(ii app.IdentityInput) app.IdentityInput {
	if in.Name != nil {
		ii.Name = *in.Name
	}
	if in.Email != nil {
		ii.Email = *in.Email
	}
	if in.ReplyTo != nil {
		ii.ReplyTo = *in.ReplyTo
	}
	if in.Default != nil {
		ii.Default = *in.Default
	}
	return ii
}

// items is a whole list (not paged).
type items[T any] struct {
	Items []T `json:"items"`
}

// listIdentities answers the caller's identities (staff: everyone's).
func (x *API) listIdentities(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	list, err := x.app.ListIdentities(r.Context(), as(u))
	if err != nil {
		return err
	}
	out := items[identityJSON]{Items: make([]identityJSON, 0, len(list))}
	for _, i := range list {
		out.Items = append(out.Items, identityOf(i))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// createIdentity adds an identity of the caller and answers 201. Errors:
// BadRequest, Invalid, Forbidden (managers).
func (x *API) createIdentity(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in identityInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	i, err := x.app.CreateIdentity(r.Context(), as(u), in.over(app.IdentityInput{}))
	if err != nil {
		return err
	}
	created(w, "/identities/", i.ID)
	x.reply(w, http.StatusCreated, identityOf(i))
	return nil
}

func (x *API) getIdentity(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	i, err := x.app.GetIdentity(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.replyObject(w, r, identityOf(i))
	return nil
}

func (x *API) patchIdentity(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	var in identityInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	i, err := x.app.GetIdentity(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	i, err = x.app.UpdateIdentity(r.Context(), as(u), id, in.over(app.IdentityInput{Name: i.Name, Email: i.Email, ReplyTo: i.ReplyTo}))
	if err != nil {
		return err
	}
	x.reply(w, http.StatusOK, identityOf(i))
	return nil
}

func (x *API) deleteIdentity(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteIdentity(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// keyJSON is a DKIM key as shown: never its private part.
type keyJSON struct {
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	State     string `json:"state"`
	Name      string `json:"name"`
	Record    string `json:"record"`
	CreatedAt string `json:"created_at"`
}

type recordJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// domainJSON is a sender domain with the records to publish.
type domainJSON struct {
	ID           int64      `json:"id"`
	OwnerID      int64      `json:"owner_id"`
	OwnerEmail   string     `json:"owner_email"`
	Domain       string     `json:"domain"`
	Verified     bool       `json:"verified"`
	VerifiedAt   *string    `json:"verified_at"`
	CreatedAt    string     `json:"created_at"`
	Verification recordJSON `json:"verification"`
	Keys         []keyJSON  `json:"keys"`
}

func (x *API) domainOf(d *simplesender.SenderDomain) domainJSON {
	h := x.app.DomainRecords(d)
	out := domainJSON{ID: d.ID, OwnerID: d.OwnerID, OwnerEmail: d.OwnerEmail, Domain: d.Domain, Verified: d.Verified(),
		VerifiedAt: optTime(d.VerifiedAt), CreatedAt: timeJSON(d.CreatedAt),
		Verification: recordJSON{Name: h.VerifyName, Value: h.VerifyValue}, Keys: []keyJSON{}}
	for _, k := range h.Keys {
		out.Keys = append(out.Keys, keyJSON{Selector: k.Key.Selector, Algorithm: k.Key.Algorithm, State: k.Key.State,
			Name: k.Name, Record: k.Record, CreatedAt: timeJSON(k.Key.CreatedAt)})
	}
	return out
}

func (x *API) listDomains(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	list, err := x.app.ListDomains(r.Context(), as(u))
	if err != nil {
		return err
	}
	out := items[domainJSON]{Items: make([]domainJSON, 0, len(list))}
	for _, d := range list {
		out.Items = append(out.Items, x.domainOf(d))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

func (x *API) createDomain(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in struct {
		Domain string `json:"domain"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := x.app.AddDomain(r.Context(), as(u), in.Domain)
	if err != nil {
		return err
	}
	created(w, "/domains/", d.ID)
	x.reply(w, http.StatusCreated, x.domainOf(d))
	return nil
}

func (x *API) getDomain(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	d, err := x.app.GetDomain(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	x.replyObject(w, r, x.domainOf(d))
	return nil
}

func (x *API) deleteDomain(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.DeleteDomain(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// domainAction runs one change of a domain and answers the domain.
func (x *API) domainAction(do func(a *app.App, r *http.Request, ac *app.Actor, id int64) error) idHandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
		if err := do(x.app, r, as(u), id); err != nil {
			return err
		}
		d, err := x.app.GetDomain(r.Context(), as(u), id)
		if err != nil {
			return err
		}
		x.reply(w, http.StatusOK, x.domainOf(d))
		return nil
	}
}

func verifyDomain(a *app.App, r *http.Request, ac *app.Actor, id int64) error {
	_, err := a.VerifyDomain(r.Context(), ac, id)
	return err
}

func rotateKeys(a *app.App, r *http.Request, ac *app.Actor, id int64) error {
	return a.RotateKeys(r.Context(), ac, id)
}

func switchKeys(a *app.App, r *http.Request, ac *app.Actor, id int64) error {
	return a.SwitchKeys(r.Context(), ac, id)
}

func removeRetiredKeys(a *app.App, r *http.Request, ac *app.Actor, id int64) error {
	return a.RemoveRetiredKeys(r.Context(), ac, id)
}

// healthJSON is what DNS holds of a domain for the bulk-sender rules.
type healthJSON struct {
	DKIM         bool            `json:"dkim"`
	SPF          string          `json:"spf"`
	DMARC        string          `json:"dmarc"`
	DMARCAligned bool            `json:"dmarc_aligned"`
	Keys         []keyHealthJSON `json:"keys"`
	Advice       []string        `json:"advice"`
	AdviceText   []string        `json:"advice_text"`
}

type keyHealthJSON struct {
	Selector string `json:"selector"`
	State    string `json:"state"`
	Found    bool   `json:"found"`
	Matches  bool   `json:"matches"`
}

// domainHealth looks the domain's records up in DNS and answers what is
// missing. Errors: NotFound, Unavailable (DNS).
func (x *API) domainHealth(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	h, err := x.app.CheckDomain(r.Context(), as(u), id)
	if err != nil {
		return err
	}
	l := x.bundle.For(x.lang(r))
	out := healthJSON{DKIM: h.DKIM, SPF: h.SPF, DMARC: h.DMARC, DMARCAligned: h.DMARCAligned, Keys: []keyHealthJSON{},
		Advice: h.Advice}
	for _, k := range h.Keys {
		out.Keys = append(out.Keys, keyHealthJSON{Selector: k.Key.Selector, State: k.Key.State, Found: k.Found, Matches: k.Matches})
	}
	for _, a := range h.Advice {
		out.AdviceText = append(out.AdviceText, l.T(a))
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// domainRulesJSON are the admins' rules and the configured allowed domains.
type domainRulesJSON struct {
	Items      []domainRuleJSON `json:"items"`
	Configured []string         `json:"configured"`
}

type domainRuleJSON struct {
	Domain    string `json:"domain"`
	Rule      string `json:"rule"`
	ChangedBy string `json:"changed_by"`
	ChangedAt string `json:"changed_at"`
}

func (x *API) listDomainRules(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	rules, configured, err := x.app.DomainRules(r.Context(), as(u))
	if err != nil {
		return err
	}
	out := domainRulesJSON{Items: []domainRuleJSON{}, Configured: append([]string{}, configured...)}
	for _, ru := range rules {
		rule := "forbid"
		if ru.Allowed {
			rule = "allow"
		}
		out.Items = append(out.Items, domainRuleJSON{Domain: ru.Domain, Rule: rule, ChangedBy: ru.ChangedBy, ChangedAt: timeJSON(ru.ChangedAt)})
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// setDomainRule allows, forbids or (rule "none") frees a domain for
// everyone (admins), and answers the rules.
func (x *API) setDomainRule(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var in struct {
		Domain string `json:"domain"`
		Rule   string `json:"rule"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var err error
	switch in.Rule {
	case "allow", "forbid":
		err = x.app.SetDomainRule(r.Context(), as(u), in.Domain, in.Rule == "allow")
	case "none":
		err = x.app.DeleteDomainRule(r.Context(), as(u), in.Domain)
	default:
		err = simplesender.Invalid(map[string]string{"rule": "error.query.invalid"})
	}
	if err != nil {
		return err
	}
	return x.listDomainRules(w, r, u)
}
