package app

import (
	"context"

	"simplesender"
	"simplesender/internal/auth"
	"simplesender/internal/store"
)

// UserPage is one page of users.
type UserPage struct {
	Users []*simplesender.User
	Total int
}

// ListUsers returns users for managers and admins. Errors: Forbidden.
func (a *App) ListUsers(ctx context.Context, ac *Actor, f store.UserFilter) (*UserPage, error) {
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	users, total, err := a.DB.Store().ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	return &UserPage{Users: users, Total: total}, nil
}

// GetUser returns a user: the actor themself, or anyone for managers and
// admins. Errors: NotFound (also for another user's id asked by a regular
// user).
func (a *App) GetUser(ctx context.Context, ac *Actor, id int64) (*simplesender.User, error) {
	if !ac.role().IsStaff() && ac.id() != id {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	return a.DB.Store().UserByID(ctx, id)
}

// UserByEmail returns the user with the address (system use: command line).
func (a *App) UserByEmail(ctx context.Context, ac *Actor, email string) (*simplesender.User, error) {
	if !ac.isSystem() {
		return nil, errForbidden
	}
	norm, err := normalizeEmail(email)
	if err != nil {
		return nil, err
	}
	return a.DB.Store().UserByEmail(ctx, norm)
}

// UserAudit returns the recorded actions on a user, newest first, for staff.
func (a *App) UserAudit(ctx context.Context, ac *Actor, id int64) ([]*simplesender.AuditEvent, error) {
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	return a.DB.Store().AuditFor(ctx, "user", id, 50)
}

// UserDataAudit returns what others (admins, and managers switching
// mailings off and on) did to the recipients, messages and mailings of user
// id, newest first, for staff. Errors: Forbidden.
func (a *App) UserDataAudit(ctx context.Context, ac *Actor, id int64) ([]*simplesender.AuditEvent, error) {
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	return a.DB.Store().AuditOfOwner(ctx, id, 50)
}

// canManage reports whether the actor may block or unblock target: admins
// anyone but themselves, managers regular users only.
func canManage(ac *Actor, target *simplesender.User) bool {
	switch {
	case ac.isSystem():
		return true
	case ac.User.ID == target.ID:
		return false
	case ac.User.Role == simplesender.RoleAdmin:
		return true
	case ac.User.Role == simplesender.RoleManager:
		return target.Role == simplesender.RoleUser
	}
	return false
}

// CanManage reports whether the actor may block or unblock target (for
// showing buttons; the use cases check again).
func CanManage(ac *Actor, target *simplesender.User) bool { return canManage(ac, target) }

// SetBlocked blocks or unblocks a user. Blocking ends every session and API
// token of the user at once and stops their mailings: pending starts are
// dropped, running sends cancelled, and once it returns no run of theirs
// starts (a start in flight either committed before the block, and its run
// is cancelled, or is refused). Managers may only block regular users; admins
// anyone but themselves. Errors: Forbidden, NotFound.
func (a *App) SetBlocked(ctx context.Context, ac *Actor, id int64, blocked bool) (*simplesender.User, error) {
	if !ac.role().IsStaff() {
		return nil, errForbidden
	}
	var u *simplesender.User
	err := a.DB.InTx(ctx, func(s *store.Store) error {
		var err error
		// Locked first: starts of the user's mailings in flight commit
		// before the block, and none begins after it (store.RequestStart).
		if u, err = s.LockUser(ctx, id); err != nil {
			return err
		}
		if !canManage(ac, u) {
			return errForbidden
		}
		if err := s.SetBlocked(ctx, id, blocked); err != nil {
			return err
		}
		action := "user.unblock"
		if blocked {
			action = "user.block"
			if err := s.DeleteUserAPITokens(ctx, id); err != nil {
				return err
			}
			// A blocked user's scheduled and running sends stop too.
			if _, err := s.CancelRuns(ctx, id, 0); err != nil {
				return err
			}
		}
		if err := s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), Action: action, TargetType: "user", TargetID: id}); err != nil {
			return err
		}
		u, err = s.UserByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.usersChanged(ctx, id)
	if blocked {
		if err := a.Sessions.DeleteUser(ctx, id); err != nil {
			// The auth version moved on, so the sessions are refused anyway.
			a.Logger.Warn("end sessions of blocked user", "user", id, "err", err)
		}
	}
	return u, nil
}

// SetRole changes a user's role; admins only, and not their own. Errors:
// Forbidden, Invalid, NotFound.
func (a *App) SetRole(ctx context.Context, ac *Actor, id int64, role simplesender.Role) (*simplesender.User, error) {
	if ac.role() != simplesender.RoleAdmin {
		return nil, errForbidden
	}
	if !role.Valid() {
		return nil, simplesender.Invalid(map[string]string{"role": "error.role.invalid"})
	}
	if ac.id() == id {
		return nil, simplesender.E(simplesender.KindForbidden, "error.role.self")
	}
	var u *simplesender.User
	err := a.DB.InTx(ctx, func(s *store.Store) error {
		if err := s.SetRole(ctx, id, role); err != nil {
			return err
		}
		if err := s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), Action: "user.role", TargetType: "user", TargetID: id, Detail: string(role)}); err != nil {
			return err
		}
		var err error
		u, err = s.UserByID(ctx, id)
		return err
	})
	if err == nil {
		a.usersChanged(ctx, id)
	}
	return u, err
}

// CreateAdmin creates a confirmed admin with the address and password, or
// promotes (and confirms) an existing account, setting its password when one
// is given. System use only. Errors: Invalid.
func (a *App) CreateAdmin(ctx context.Context, ac *Actor, email, password string) (*simplesender.User, bool, error) {
	if !ac.isSystem() {
		return nil, false, errForbidden
	}
	norm, err := normalizeEmail(email)
	if err != nil {
		return nil, false, err
	}
	existing, err := a.DB.Store().UserByEmail(ctx, norm)
	if err != nil && !simplesender.IsKind(err, simplesender.KindNotFound) {
		return nil, false, err
	}
	if password != "" || existing == nil {
		if err := auth.ValidatePassword(password, norm); err != nil {
			return nil, false, err
		}
	}
	var hash string
	if password != "" {
		if hash, err = a.Hasher.Hash(ctx, password); err != nil {
			return nil, false, hashFailed(err, "hash password")
		}
	}
	var u *simplesender.User
	created := existing == nil
	err = a.DB.InTx(ctx, func(s *store.Store) error {
		if existing == nil {
			now := s.Now()
			u = &simplesender.User{Email: norm, Name: "Admin", Role: simplesender.RoleAdmin, PasswordHash: hash, ConfirmedAt: &now}
			return s.CreateUser(ctx, u)
		}
		if err := s.SetRole(ctx, existing.ID, simplesender.RoleAdmin); err != nil {
			return err
		}
		if err := s.Confirm(ctx, existing.ID); err != nil {
			return err
		}
		if hash != "" {
			if _, err := s.SetPassword(ctx, existing.ID, hash); err != nil {
				return err
			}
		}
		if err := s.AddAudit(ctx, &simplesender.AuditEvent{Action: "user.role", TargetType: "user", TargetID: existing.ID, Detail: "admin (command line)"}); err != nil {
			return err
		}
		var err error
		u, err = s.UserByID(ctx, existing.ID)
		return err
	})
	if err == nil {
		a.usersChanged(ctx, u.ID)
	}
	return u, created, err
}
