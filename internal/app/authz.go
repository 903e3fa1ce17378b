package app

import (
	"context"

	"simplesender"
	"simplesender/internal/store"
)

// Action is something done to a user's recipients, messages or mailings.
type Action string

// The actions on content. Reading includes lists, reports, exports and the
// delivery history; sending includes scheduling and resending.
const (
	ActView    Action = "view"
	ActCreate  Action = "create" // a recipient, message or mailing; importing recipients
	ActEdit    Action = "edit"
	ActDelete  Action = "delete"
	ActSend    Action = "send"    // send now, schedule, resend
	ActCancel  Action = "cancel"  // drop a pending send or stop a running one
	ActDisable Action = "disable" // switch a mailing off or on again
)

// known reports whether a is one of the actions above.
func (a Action) known() bool {
	switch a {
	case ActView, ActCreate, ActEdit, ActDelete, ActSend, ActCancel, ActDisable:
		return true
	}
	return false
}

// errManagerReadOnly refuses a manager anything but looking and switching
// mailings off and on.
var errManagerReadOnly = simplesender.E(simplesender.KindForbidden, "error.manager_readonly")

// authorize is the one rule of who may do what to content (recipients,
// messages, mailings) of the user owner; every use case on content asks it,
// and the UI asks it (Actor.Can) to show only the buttons that work.
//
//   - A regular user does everything to their own content except switching
//     mailings off and on (Forbidden); another user's content does not exist
//     for them (NotFound, so that no id leaks).
//   - A manager, as in the original service, oversees: views everyone's
//     content and switches mailings off and on (which also stops their
//     sends), but creates, edits, deletes, sends and cancels nothing, their
//     own content included (Forbidden "error.manager_readonly").
//   - An admin, like the original's superuser, does everything to anyone's
//     content; the use cases record it when the content is someone else's.
//   - The system (command line) does everything; nobody (no user) nothing
//     (Unauthenticated).
//
// An unknown action is refused to everyone but the system.
func authorize(ac *Actor, act Action, owner int64) error {
	switch {
	case ac.isSystem():
		return nil
	case ac.anonymous():
		return errUnauthenticated
	}
	if !act.known() {
		return errForbidden
	}
	switch ac.role() {
	case simplesender.RoleAdmin:
		return nil
	case simplesender.RoleManager:
		switch act {
		case ActView, ActDisable:
			return nil
		}
		return errManagerReadOnly
	}
	switch {
	case ac.id() != owner:
		return simplesender.E(simplesender.KindNotFound, "error.not_found")
	case act == ActDisable:
		return errForbidden
	}
	return nil
}

// Can reports whether the actor may do act to content of the user owner,
// by the rule the use cases apply (for showing buttons and links; the use
// cases check again). Whether the object's state allows it (a disabled
// mailing cannot be sent) is not part of the answer.
func (ac *Actor) Can(act Action, owner int64) bool { return authorize(ac, act, owner) == nil }

// Check returns the refusal Can stands for, to answer it as the use case
// would (a form page refused before anything is typed). Errors:
// Unauthenticated, NotFound, Forbidden.
func (ac *Actor) Check(act Action, owner int64) error { return authorize(ac, act, owner) }

// writable returns nil when the actor may change content of owner: the
// rule of authorize for ActEdit (deleting and sending have the same one).
func writable(ac *Actor, owner int64) error { return authorize(ac, ActEdit, owner) }

// onBehalf reports whether the actor acts on another user's content as an
// admin: such changes are written to the audit log and shown to the owner.
func (ac *Actor) onBehalf(owner int64) bool {
	return !ac.anonymous() && ac.role() == simplesender.RoleAdmin && ac.id() != owner
}

// Types of content, as audit events and admin marks name them.
const (
	targetRecipient = "recipient"
	targetMessage   = "message"
	targetMailing   = "mailing"
)

// recordOnBehalf writes, in the transaction of s, what an admin did to
// another user's object: an audit event naming the admin and the owner,
// and (unless the object is gone) the admin's mark on the object that its
// owner sees. Others' actions are not recorded here.
func recordOnBehalf(ctx context.Context, s *store.Store, ac *Actor, owner int64, target string, id int64, action string) error {
	if !ac.onBehalf(owner) {
		return nil
	}
	if err := s.AddAudit(ctx, &simplesender.AuditEvent{ActorID: ac.id(), OwnerID: owner, Action: target + "." + action,
		TargetType: target, TargetID: id}); err != nil {
		return err
	}
	if action == "delete" {
		return nil
	}
	return s.MarkAdminChange(ctx, target, id, ac.id())
}

// AdminChange returns who last changed object id of type target ("recipient",
// "message" or "mailing") on behalf of its owner, and when; nil when no
// admin did. Errors: NotFound (also for an object the actor may not see).
func (a *App) AdminChange(ctx context.Context, ac *Actor, target string, id int64) (*simplesender.AdminChange, error) {
	var err error
	switch target {
	case targetRecipient:
		_, err = a.GetRecipient(ctx, ac, id)
	case targetMessage:
		_, err = a.GetMessage(ctx, ac, id)
	case targetMailing:
		_, err = a.GetMailing(ctx, ac, id)
	default:
		err = simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	if err != nil {
		return nil, err
	}
	return a.DB.Store().AdminChange(ctx, target, id)
}
