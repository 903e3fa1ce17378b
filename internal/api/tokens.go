package api

import (
	"net/http"
	"time"

	"simplesender"
)

// tokenJSON is an API token as listed: never the token itself nor its hash.
type tokenJSON struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

// newTokenJSON is a token just made: the listed fields and, this once, the
// token.
type newTokenJSON struct {
	tokenJSON
	Token string `json:"token"`
}

// createToken makes an API token and answers 201 {id, token, ...}. An
// anonymous caller sends {email, password, name?} and the account must be
// active; a caller with a bearer token sends {name?} only and gets another
// token of their own. Errors: BadRequest, Invalid, Unauthenticated,
// RateLimited.
func (x *API) createToken(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	var (
		raw string
		t   tokenJSON
	)
	if u != nil {
		var req struct {
			Name string `json:"name"`
		}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		tok, tt, err := x.app.CreateAPIToken(r.Context(), as(u), nil, req.Name)
		if err != nil {
			return err
		}
		raw, t = tok, tokenOf(tt.ID, tt.Name, tt.Prefix, tt.CreatedAt, tt.LastUsedAt)
	} else {
		var req struct {
			Email    string `json:"email"`
			Password string `json:"password"`
			Name     string `json:"name"`
		}
		if err := decode(w, r, &req); err != nil {
			return err
		}
		f := simplesender.FieldErrors{}
		if req.Email == "" {
			f.Add("email", "error.required")
		}
		if req.Password == "" {
			f.Add("password", "error.required")
		}
		if err := f.Err(); err != nil {
			return err
		}
		tok, tt, err := x.app.CreateAPITokenWithPassword(r.Context(), req.Email, req.Password, req.Name, clientIP(r))
		if err != nil {
			return err
		}
		raw, t = tok, tokenOf(tt.ID, tt.Name, tt.Prefix, tt.CreatedAt, tt.LastUsedAt)
	}
	x.reply(w, http.StatusCreated, newTokenJSON{tokenJSON: t, Token: raw})
	return nil
}

// listTokens answers the caller's API tokens, newest first, as a list.
func (x *API) listTokens(w http.ResponseWriter, r *http.Request, u *simplesender.User) error {
	p, err := pagingOf(r)
	if err != nil {
		return err
	}
	all, err := x.app.ListAPITokens(r.Context(), as(u))
	if err != nil {
		return err
	}
	// A user has few tokens: page in memory.
	out := list[tokenJSON]{Items: []tokenJSON{}, Total: len(all), Page: p.Page, PerPage: p.PerPage, Pages: p.pages(len(all))}
	if off := p.offset(); off < len(all) {
		for _, t := range all[off:min(off+p.PerPage, len(all))] {
			out.Items = append(out.Items, tokenOf(t.ID, t.Name, t.Prefix, t.CreatedAt, t.LastUsedAt))
		}
	}
	x.reply(w, http.StatusOK, out)
	return nil
}

// revokeToken deletes one of the caller's tokens and answers 204. Errors:
// NotFound (also for another user's token).
func (x *API) revokeToken(w http.ResponseWriter, r *http.Request, u *simplesender.User, id int64) error {
	if err := x.app.RevokeAPIToken(r.Context(), as(u), id); err != nil {
		return err
	}
	x.reply(w, http.StatusNoContent, nil)
	return nil
}

// tokenOf builds the JSON of a token from its parts, so this package need not
// name the store's type.
func tokenOf(id int64, name, prefix string, created time.Time, lastUsed *time.Time) tokenJSON {
	return tokenJSON{ID: id, Name: name, Prefix: prefix, CreatedAt: timeJSON(created), LastUsedAt: optTime(lastUsed)}
}
