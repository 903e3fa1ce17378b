package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// The OpenAPI 3.1 document of the API, built from the operations below. It
// is built in Go rather than written as a JSON file so that the schemas stay
// short and the error answers of every operation follow from one rule. A
// test checks that it describes exactly the routes of routeTable, and that
// every answer of the test suite fits the schema of its route and status.

var (
	recipientFields = map[string]schema{"email": str(), "first_name": str(), "last_name": str(), "middle_name": str(), "comment": str(),
		"tags": arr(str()), "fields": described(schema{"type": "object", "additionalProperties": schema{"type": []string{"string", "number", "boolean", "null"}}},
			"Custom field values by key: a number field as a number, a yes/no field as a boolean, text and date (YYYY-MM-DD) fields as strings. "+
				"On input, a number may also be a string (\"1 234,5\"), a date DD.MM.YYYY, a yes/no true/false/yes/no/да/нет/1/0; null or \"\" removes the value; fields not named keep theirs. "+
				"422 under fields.KEY for an unknown key or a value that does not fit the type.")}
	fieldFields = map[string]schema{"key": described(schema{"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
		"The placeholder {{key}} (or {{key|default}}) of messages, the CSV column of imports and exports, the key in a recipient's fields. Not a built-in name (email, name, comment, tags, lists...)."),
		"name": str(), "type": enumOf(simplesender.FieldTypes)}
	selectionFields = map[string]schema{"ids": schema{"type": "array", "items": integer(), "maxItems": 1000},
		"all": boolean(), "q": schema{"type": "string", "maxLength": maxQueryLen}, "list_id": integer(), "tag": str(), "segment_id": integer()}
	audienceFields = map[string]schema{"kind": enum("list", "tag", "segment"), "exclude": boolean(), "list_id": integer(), "tag": str(),
		"segment_id": integer()}
	messageFields = map[string]schema{"subject": str(),
		"format":    described(enumOf(simplesender.MessageFormats), "text (default): body_text, with an optional body_html; html: body_html, body_text is generated from it; markdown: body_markdown, body_html and body_text are generated from it. HTML is refused when a tag is left open or misnested, or for script, form and its controls, frames, objects, on* attributes and javascript: addresses."),
		"body_text": str(), "body_html": str(), "body_markdown": str()}
	countsSchema = object(counterProperties())
	statsFields  = map[string]schema{"mailings_total": integer(), "mailings_active": integer(), "recipients_unique": integer(),
		"messages_sent": integer(), "attempts_success": integer(), "attempts_failure": integer()}
	identityFields = map[string]schema{"name": str(), "email": str(), "reply_to": str(), "default": boolean()}
	tokenFields    = map[string]schema{"id": integer(), "name": str(), "prefix": str(), "created_at": dateTime(), "last_used_at": nullable(dateTime())}
	importCount    = map[string]schema{"rows": integer(), "imported": integer(), "updated": integer(), "unchanged": integer(),
		"skipped": integer(), "duplicates": integer(), "invalid": integer()}
)

// suppressionFields are the properties of a suppressed address.
func suppressionFields() map[string]schema {
	return map[string]schema{"id": integer(), "owner_id": nullable(integer()), "owner_email": str(),
		"email": str(), "reason": enumOf(simplesender.SuppressionReasons), "note": str(), "mailing_id": nullable(integer()),
		"created_at": dateTime(), "created_by": nullable(integer()), "created_by_email": str()}
}

// components are the named schemas.
func components() map[string]schema {
	mailing := object(map[string]schema{"id": integer(), "owner_id": integer(), "owner_email": str(), "name": str(),
		"message_id": integer(), "status": enum("created", "running", "finished"), "disabled": boolean(),
		"disabled_at": nullable(dateTime()), "scheduled_at": nullable(dateTime()), "started_at": nullable(dateTime()),
		"finished_at": nullable(dateTime()), "created_at": dateTime(), "updated_at": dateTime(),
		"recipient_count": integer(), "counts": ref("Counts"), "recipient_ids": arr(integer()), "audience": arr(ref("AudienceRule")),
		"identity_id": nullable(integer()),
		"status_detail": object(map[string]schema{"phase": enum("new", "scheduled", "starting", "sending", "finished"),
			"at": nullable(dateTime()), "next_at": nullable(dateTime()), "percent": integer(), "text": str()})})
	// The audience's ids are in the answers to create, change and duplicate
	// only: reading a mailing costs the same for any audience; its
	// recipients are paged by GET /mailings/{id}/recipients.
	mailing["required"] = without(without(without(mailing["required"].([]string), "recipient_ids"), "audience"), "identity_id")
	// By reason, in the answers about one mailing whose last run suppressed some.
	mailing["properties"].(map[string]schema)["suppressed_reasons"] = schema{"type": "object",
		"propertyNames": enumOf(simplesender.SuppressionReasons), "additionalProperties": integer()}
	// Why the last pending start was dropped when it came due, when it was.
	mailing["properties"].(map[string]schema)["start_refused"] = enum(simplesender.StartRefusedSender)
	return map[string]schema{
		"Error": object(map[string]schema{"error": ref("ErrorDetail")}),
		"ErrorDetail": object(map[string]schema{
			"code": enum("invalid", "bad_request", "unauthenticated", "forbidden", "not_found", "conflict", "too_large",
				"rate_limited", "internal"),
			"message": str(),
			"fields":  strMap(),
		}),
		"Accepted":            object(map[string]schema{"accepted": boolean()}),
		"Count":               object(map[string]schema{"count": integer()}),
		"RecipientSelection":  input(selectionFields),
		"RecipientBulkAction": input(with(selectionFields, map[string]schema{"target_list_id": integer(), "set_tag": str()})),
		"List": object(map[string]schema{"id": integer(), "owner_id": integer(), "name": str(), "members": integer(),
			"created_at": dateTime(), "updated_at": dateTime()}),
		"ListInput": input(map[string]schema{"name": str()}, "name"),
		"ListList":  listOf(ref("List")),
		"Field": object(with(fieldFields, map[string]schema{"id": integer(), "owner_id": integer(), "position": integer(),
			"created_at": dateTime()})),
		"FieldInput": input(fieldFields, "key", "type"),
		"FieldPatch": input(map[string]schema{"name": str()}, "name"),
		"FieldList":  object(map[string]schema{"items": arr(ref("Field"))}),
		"AudienceRule": optional(object(with(audienceFields, map[string]schema{"list_name": str(), "segment_name": str(),
			"segment": ref("SegmentDefinition")})), "segment_id", "segment_name", "segment"),
		"SegmentDefinition": segmentDefinitionSchema(),
		"Segment": optional(object(map[string]schema{"id": integer(), "owner_id": integer(), "name": str(),
			"definition": ref("SegmentDefinition"), "count": integer(), "created_at": dateTime(), "updated_at": dateTime()}), "count"),
		"SegmentInput":      input(map[string]schema{"name": str(), "definition": ref("SegmentDefinition")}, "name", "definition"),
		"SegmentCountInput": input(map[string]schema{"definition": ref("SegmentDefinition")}, "definition"),
		"SegmentList":       listOf(ref("Segment")),
		"AudienceRuleInput": input(audienceFields, "kind"),
		"MailingAudience": object(map[string]schema{"rules": arr(ref("AudienceRule")), "chosen_count": integer(),
			"count": integer()}),
		"User": object(map[string]schema{"id": integer(), "email": str(), "name": str(), "phone": str(), "country": str(),
			"lang": str(), "timezone": str(), "role": enum("user", "manager", "admin"), "status": enum("pending", "active", "blocked"),
			"created_at": dateTime(), "confirmed_at": nullable(dateTime()), "blocked_at": nullable(dateTime()),
			"avatar_version": integer()}),
		"Token":    object(tokenFields),
		"NewToken": object(with(tokenFields, map[string]schema{"token": str()})),
		"Recipient": object(with(recipientFields, map[string]schema{"id": integer(), "owner_id": integer(),
			"created_at": dateTime(), "updated_at": dateTime()})),
		"RecipientInput": input(recipientFields, "email"),
		"RecipientPatch": input(recipientFields),
		"Message": object(with(messageFields, map[string]schema{"id": integer(), "owner_id": integer(),
			"created_at": dateTime(), "updated_at": dateTime()})),
		"MessageInput": input(messageFields, "subject"),
		"MessagePatch": input(messageFields),
		"Counts":       countsSchema,
		"Mailing":      mailing,
		"MailingInput": input(map[string]schema{"name": str(), "message_id": integer(), "recipient_ids": arr(integer()),
			"audience": arr(ref("AudienceRuleInput")), "identity_id": nullable(integer())}, "message_id"),
		"MailingPatch": input(map[string]schema{"name": str(), "message_id": integer(), "recipient_ids": arr(integer()),
			"audience": arr(ref("AudienceRuleInput")), "identity_id": nullable(integer())}),
		"Run": object(map[string]schema{"id": integer(), "number": integer(), "kind": enumOf(simplesender.RunKinds),
			"trigger": enumOf(simplesender.Triggers), "scheduled_at": nullable(dateTime()), "started_at": dateTime(), "finished_at": nullable(dateTime()),
			"cancelled": boolean(), "subject": str(), "counts": ref("Counts")}),
		"Delivery": object(deliveryFields()),
		"Attempt": object(map[string]schema{"id": integer(), "delivery_id": integer(), "run_id": integer(), "email": str(),
			"attempted_at": dateTime(), "status": enum("success", "failure"), "code": integer(), "enhanced": str(), "response": str()}),
		"Stats":     object(statsFields),
		"UserStats": object(with(statsFields, map[string]schema{"user_id": integer(), "email": str()})),
		"ImportSummary": object(with(importCount, map[string]schema{
			"committed": boolean(), "dry_run": boolean(),
			"format": object(map[string]schema{"encoding": enum("utf-8", "windows-1251"), "bom": boolean(), "separator": str(),
				"header": nullable(arr(str())), "mapping": arr(str())}),
			"errors":         arr(object(map[string]schema{"line": integer(), "email": str(), "fields": strMap()})),
			"duplicate_rows": arr(object(map[string]schema{"line": integer(), "first_line": integer(), "email": str()})),
			"suppressed":     integer(),
			"suppressed_rows": arr(object(map[string]schema{"line": integer(), "email": str(),
				"reason": enumOf(simplesender.SuppressionReasons)})),
		})),
		"ImportError": object(map[string]schema{"error": ref("ErrorDetail"), "import": ref("ImportSummary")}),
		"ImportJob": object(map[string]schema{
			"id": str(), "file_name": str(), "size": integer(), "attempts": integer(),
			"state": enum("uploading", "uploaded", "queued", "running", "done", "failed", "cancelled"), "mode": enum("skip", "update"),
			"valid_only": boolean(), "dry_run": boolean(), "phase": enum("", "check", "write"),
			"done": integer(), "total": integer(), "counts": object(importCount),
			"failure": nullable(ref("ErrorDetail")), "failure_line": integer(), "result": nullable(ref("ImportSummary")),
			"created_at": dateTime(), "started_at": nullable(dateTime()), "finished_at": nullable(dateTime()),
		}),

		"Identity": object(map[string]schema{"id": integer(), "owner_id": integer(), "owner_email": str(), "name": str(),
			"email": str(), "reply_to": str(), "default": boolean(), "created_at": dateTime(), "updated_at": dateTime()}),
		"IdentityInput": input(identityFields, "email"),
		"IdentityPatch": input(identityFields),
		"IdentityList":  object(map[string]schema{"items": arr(ref("Identity"))}),
		"Domain": object(map[string]schema{"id": integer(), "owner_id": integer(), "owner_email": str(), "domain": str(),
			"verified": boolean(), "verified_at": nullable(dateTime()), "created_at": dateTime(),
			"verification": object(map[string]schema{"name": str(), "value": str()}),
			"keys": arr(object(map[string]schema{"selector": str(), "algorithm": enum("rsa", "ed25519"),
				"state": enum("next", "active", "retired"), "name": str(), "record": str(), "created_at": dateTime()}))}),
		"DomainList": object(map[string]schema{"items": arr(ref("Domain"))}),
		"DomainHealth": object(map[string]schema{"dkim": boolean(), "spf": str(), "dmarc": str(), "dmarc_aligned": boolean(),
			"keys": arr(object(map[string]schema{"selector": str(), "state": enum("next", "active", "retired"),
				"found": boolean(), "matches": boolean()})),
			"advice": arr(str()), "advice_text": arr(str())}),
		"DomainRules": object(map[string]schema{"configured": arr(str()),
			"items": arr(object(map[string]schema{"domain": str(), "rule": enum("allow", "forbid"), "changed_by": str(),
				"changed_at": dateTime()}))}),

		"Suppression": object(suppressionFields()),
		"SuppressionImport": object(map[string]schema{"rows": integer(), "added": integer(), "already": integer(), "invalid": integer(),
			"errors": arr(object(map[string]schema{"line": integer(), "email": str(), "fields": strMap()}))}),
		"SuppressionList": listOf(ref("Suppression")),
		"UnmatchedReportList": listOf(object(map[string]schema{"id": integer(), "received_at": dateTime(), "source": str(),
			"kind": enum("hard", "soft", "policy", "delayed", "delivered", "complaint", "auto_reply", "unknown"), "email": str(),
			"status": str(), "diagnostic": str(), "applied": str()})),
		"UnmatchedReport": object(map[string]schema{"id": integer(), "received_at": dateTime(), "source": str(),
			"kind": enum("hard", "soft", "policy", "delayed", "delivered", "complaint", "auto_reply", "unknown"), "email": str(),
			"status": str(), "diagnostic": str(), "applied": str(), "raw": nullable(str()), "remote": str(),
			"envelope_from": str(), "envelope_to": str(), "error": str(), "processed_at": dateTime()}),
		"Returns": object(returnsFields),
		"RateDay": object(with(returnsFields, map[string]schema{"date": str(), "start": dateTime()})),
		"Rates": object(map[string]schema{"owner_id": integer(), "mailing_id": integer(), "time_zone": str(), "from": str(),
			"to": str(), "start": dateTime(), "end": dateTime(), "totals": ref("Returns"),
			"mailings": arr(object(with(returnsFields, map[string]schema{"id": integer(), "name": str(), "disabled": boolean()}))),
			"days":     arr(ref("RateDay"))}),
		"SenderList": object(map[string]schema{"time_zone": str(), "from": str(), "to": str(), "start": dateTime(), "end": dateTime(),
			"bounce_alert_rate": number(), "complaint_line": number(), "total": integer(), "flagged": integer(),
			"page": integer(), "per_page": integer(), "pages": integer(),
			"items": arr(object(with(returnsFields, map[string]schema{"user_id": integer(), "email": str(), "name": str(),
				"status": enum("pending", "active", "blocked"), "hard_bounce_alert": boolean(), "complaint_alert": boolean(),
				"mailings": arr(object(with(returnsFields, map[string]schema{"id": integer(), "name": str(), "disabled": boolean()})))})))}),
		"UserList":        listOf(ref("User")),
		"SendingSettings": object(map[string]schema{"footer_text": str(), "postal_address": str()}),
		"TokenList":       listOf(ref("Token")),
		"RecipientList":   listOf(ref("Recipient")),
		"MessageList":     listOf(ref("Message")),
		"MailingList":     listOf(ref("Mailing")),
		"RunList":         listOf(ref("Run")),
		"DeliveryList": object(map[string]schema{"items": arr(ref("Delivery")), "total": integer(), "page": integer(),
			"per_page": integer(), "pages": integer(), "run": nullable(ref("Run"))}),
		"AttemptList": listOf(ref("Attempt")),
		"Report": object(map[string]schema{"id": integer(), "received_at": dateTime(), "source": str(),
			"kind": enum("hard", "soft", "policy", "delayed", "delivered", "complaint", "auto_reply", "unknown"), "email": str(),
			"status": str(), "diagnostic": str(), "applied": str()}),
		"OneDelivery": object(with(deliveryFields(), map[string]schema{"mailing_id": integer(), "attempt_list": arr(ref("Attempt"))})),
		"Webhook": object(map[string]schema{"id": integer(), "owner_id": integer(), "owner_email": str(), "url": str(),
			"events": arr(enumOf(webhookEvents())), "enabled": boolean(),
			"secret":        described(nullable(str()), "The signing secret; null for managers, who may not change the endpoint."),
			"failing_since": nullable(dateTime()), "disabled_at": nullable(dateTime()), "disabled_reason": str(),
			"pending_batches": integer(), "created_at": dateTime(), "updated_at": dateTime()}),
		"WebhookInput": input(map[string]schema{"url": str(), "events": arr(enumOf(webhookEvents())), "enabled": boolean()}),
		"WebhookList":  object(map[string]schema{"items": arr(ref("Webhook"))}),
		"WebhookLogEntry": object(map[string]schema{"id": integer(), "at": dateTime(), "batch_id": nullable(integer()),
			"attempt": integer(), "events": integer(), "status": integer(), "duration_ms": integer(), "failure": described(str(), "Why the request failed (\"HTTP 500\", a time-out, a refused address); empty when the endpoint answered 2xx."), "response": str()}),
		"WebhookLog":    listOf(ref("WebhookLogEntry")),
		"UserStatsList": listOf(ref("UserStats")),
	}
}

// returnsFields are the properties of app.Returns.
var returnsFields = map[string]schema{"sent": integer(), "delivered": integer(), "hard_bounces": integer(),
	"soft_bounces": integer(), "complaints": integer(), "unsubscribes": integer(), "suppressed": integer(),
	"rates": nullable(object(map[string]schema{"delivered": number(), "hard_bounce": number(), "soft_bounce": number(),
		"complaint": number(), "unsubscribe": number(), "suppressed": number()}))}

// deliveryFields are the properties of a delivery.
func deliveryFields() map[string]schema {
	return map[string]schema{"id": integer(), "run_id": integer(), "recipient_id": integer(), "email": str(),
		"first_name": str(), "last_name": str(), "middle_name": str(),
		"status":   enumOf(simplesender.DeliveryStatuses(nil)),
		"attempts": integer(), "next_attempt_at": nullable(dateTime()), "last_code": nullable(integer()),
		"last_enhanced": str(), "last_response": str(), "sent_at": nullable(dateTime()), "updated_at": dateTime(),
		"reports": described(arr(ref("Report")), "The bounces and complaints that came back about it, oldest first.")}
}

// webhookEvents are the event types an endpoint may ask for.
func webhookEvents() []string { return app.WebhookEvents }

func without(s []string, v string) []string {
	out := []string{}
	for _, e := range s {
		if e != v {
			out = append(out, e)
		}
	}
	return out
}

// who says who may call an operation; it decides the 401 and 403 answers.
type who int

const (
	whoAnyone   who = iota // no authentication
	whoOptional            // anonymous, or a valid bearer token
	whoUser                // any active account; 403 never
	whoAuthor              // any active account adds to its own data; 403 for managers (read-only)
	whoOwner               // the object's owner and admins may act; 403 for managers
	whoStaff               // managers and admins; 403 for regular users
)

// operation is one route as the document describes it.
type operation struct {
	tag, summary, desc string
	who                who
	params             []param
	body               schema // a JSON body, or nil
	okStatus           int    // default 200
	ok                 schema // the success body; nil for 204
	okType             string // the success media type; default JSON
	errs               []int  // error statuses beyond those the rule gives
	rawBody            bool   // the body is a CSV file (import)
	imageBody          bool   // the body is an image file (avatar)
	accepted           schema // a 202 answer beside okStatus (with Location), or nil
	stringID           bool   // {id} is the 32 hex digits of an import job
}

// operations describes every route of routeTable, by pattern.
func operations() map[string]operation {
	return map[string]operation{
		"GET /openapi.json": {tag: "meta", summary: "This OpenAPI document", who: whoAnyone, ok: schema{"type": "object"}},

		"POST /auth/register": {tag: "accounts", who: whoAnyone, summary: "Register an account",
			desc: "Sends a confirmation e-mail. The same 202 for an address that already has an account.",
			body: input(map[string]schema{"email": str(), "password": str(), "name": str(), "phone": str(), "country": str(),
				"lang": enum("en", "ru"), "timezone": str()}, "email", "password"),
			okStatus: 202, ok: ref("Accepted"), errs: []int{429, 503}},
		"POST /auth/confirm": {tag: "accounts", who: whoAnyone, summary: "Confirm an e-mail address",
			body: input(map[string]schema{"token": str()}, "token"), ok: ref("User"), errs: []int{429}},
		"POST /auth/password-reset": {tag: "accounts", who: whoAnyone, summary: "Ask for a password reset link",
			body: input(map[string]schema{"email": str()}, "email"), okStatus: 202, ok: ref("Accepted"), errs: []int{429}},
		"POST /auth/password-reset/confirm": {tag: "accounts", who: whoAnyone, summary: "Set a new password with a reset token",
			desc: "Every API token of the account stops working.",
			body: input(map[string]schema{"token": str(), "password": str()}, "token", "password"), ok: ref("User"), errs: []int{429, 503}},

		"POST /tokens": {tag: "tokens", who: whoOptional, summary: "Create an API token",
			desc: "Anonymous callers send {email, password, name?} of a confirmed, unblocked account; a caller with a bearer token sends {name?}. The token is shown once.",
			body: input(map[string]schema{"email": str(), "password": str(), "name": str()}), okStatus: 201, ok: ref("NewToken"),
			errs: []int{429, 503}},
		"GET /tokens": {tag: "tokens", who: whoUser, summary: "List the caller's API tokens, with their last use",
			params: pageParams, ok: ref("TokenList")},
		"DELETE /tokens/{id}": {tag: "tokens", who: whoUser, summary: "Revoke one of the caller's tokens", okStatus: 204},

		"GET /me": {tag: "users", who: whoUser, summary: "The caller's account", ok: ref("User")},
		"PUT /me/avatar": {tag: "users", who: whoUser, summary: "Set the caller's profile picture",
			desc: "The body is the image (PNG, JPEG or WebP), or the part named file of a multipart/form-data body; at most 2 MiB (413) and 4096 × 4096 pixels, 16 megapixels (422). " +
				"It is cropped to a square, scaled to at most 256 pixels and re-encoded (PNG with transparency, JPEG otherwise), so no metadata is kept. " +
				"The answer is the account; avatar_version changes with every picture.",
			imageBody: true, ok: ref("User"), errs: []int{429}},
		"DELETE /me/avatar": {tag: "users", who: whoUser, summary: "Remove the caller's profile picture",
			desc: "Having none is not an error. The answer is the account, with avatar_version 0.", ok: ref("User")},
		"GET /me/sending": {tag: "users", who: whoUser, summary: "The caller's sending settings",
			desc: "footer_text is the note above the unsubscribe link of the footer that mailing messages get when their body does not place {{unsubscribe_url}} (empty: the default note in the recipient's language); postal_address is shown under the link (CAN-SPAM).",
			ok:   ref("SendingSettings")},
		"PUT /me/sending": {tag: "users", who: whoUser, summary: "Replace the caller's sending settings",
			desc: "Plain text, several lines allowed, no other control characters; footer_text at most 1000 characters, postal_address at most 300 (422 otherwise). A field left out is emptied. Runs already sending keep the footer they started with.",
			body: input(map[string]schema{"footer_text": str(), "postal_address": str()}), ok: ref("SendingSettings")},
		"GET /users": {tag: "users", who: whoStaff, summary: "List users",
			params: append([]param{searchParam, query("status", "", enum("pending", "active", "blocked")),
				query("role", "", enum("user", "manager", "admin"))}, pageParams...), ok: ref("UserList")},
		"GET /users/{id}": {tag: "users", who: whoUser, summary: "One user (regular users: only themselves)", ok: ref("User")},
		"PATCH /users/{id}": {tag: "users", who: whoStaff, summary: "Change a user's role (admins)",
			body: input(map[string]schema{"role": enum("user", "manager", "admin")}, "role"), ok: ref("User")},
		"POST /users/{id}/block": {tag: "users", who: whoStaff, summary: "Block a user (managers: regular users only)",
			desc: "Their tokens stop working, and their scheduled and running sends are cancelled.", ok: ref("User")},
		"POST /users/{id}/unblock": {tag: "users", who: whoStaff, summary: "Unblock a user", ok: ref("User")},

		"GET /recipients": {tag: "recipients", who: whoUser, summary: "List recipients (staff: everyone's)",
			desc: "Each with its tags. list_id keeps the members of a list (404 for a list the caller may not see), tag those with the tag.",
			params: append(listParams(recipientSorts), query("list_id", "Only the members of this list.", integer()),
				query("tag", "Only the recipients with this tag.", str())), ok: ref("RecipientList"), errs: []int{404}},
		"POST /recipients": {tag: "recipients", who: whoAuthor, summary: "Add a recipient",
			desc: "The e-mail is unique per owner, compared case-insensitively (422 on email otherwise).",
			body: ref("RecipientInput"), okStatus: 201, ok: ref("Recipient")},
		"GET /recipients.csv": {tag: "recipients", who: whoUser, summary: "Export recipients as CSV",
			desc:   "Columns email, last_name, first_name, middle_name, comment, tags (separated by \"; \"), then one per custom field named by its key; ordered by address. Cells starting with = + - @, a tab or a CR (after any apostrophes) get one more leading apostrophe; the import removes it.",
			params: []param{bomParam, separatorParam, ownerParam}, ok: str(), okType: "text/csv"},
		"POST /recipients/bulk/count": {tag: "recipients", who: whoUser, summary: "Count a selection of the caller's recipients",
			desc: "What a bulk delete or export of the same body would cover: the caller's own recipients among ids (at most 1000; others' ids select nothing), " +
				"or with all=true every one matching q (every one when q is empty). 422 on ids when nothing is selected.",
			body: ref("RecipientSelection"), ok: ref("Count")},
		"POST /recipients/bulk/delete": {tag: "recipients", who: whoAuthor, summary: "Delete a selection of the caller's recipients",
			desc: "The body selects as for /recipients/bulk/count; the answer says how many were deleted. They leave the mailings' audiences; the delivery history keeps its copy. " +
				"422 on ids when none of the ids is the caller's.",
			body: ref("RecipientSelection"), ok: ref("Count")},
		"POST /recipients/bulk/add-to-list": {tag: "recipients", who: whoAuthor, summary: "Put a selection of the caller's recipients on one of the caller's lists",
			desc: "The body selects as for /recipients/bulk/count (with all=true, list_id and tag narrow it too) and names target_list_id. " +
				"The answer counts those that were not on it yet. Done in batches of 500, each its own transaction. 422 on list_id for a list not the caller's.",
			body: ref("RecipientBulkAction"), ok: ref("Count")},
		"POST /recipients/bulk/remove-from-list": {tag: "recipients", who: whoAuthor, summary: "Take a selection of the caller's recipients off a list",
			desc: "As add-to-list; the answer counts those that were on it.", body: ref("RecipientBulkAction"), ok: ref("Count")},
		"POST /recipients/bulk/tag": {tag: "recipients", who: whoAuthor, summary: "Tag a selection of the caller's recipients with set_tag",
			desc: "Tags are kept in lower case: up to 50 letters, digits, spaces and - _ . : (422 on set_tag otherwise). The answer counts those that did not have it.",
			body: ref("RecipientBulkAction"), ok: ref("Count")},
		"POST /recipients/bulk/untag": {tag: "recipients", who: whoAuthor, summary: "Take the tag set_tag from a selection of the caller's recipients",
			desc: "The answer counts those that had it.", body: ref("RecipientBulkAction"), ok: ref("Count")},
		"POST /recipients/bulk/suppress": {tag: "recipients", who: whoAuthor, summary: "Put the addresses of a selection of the caller's recipients on the caller's suppression list",
			desc: "The body selects as for /recipients/bulk/count. The recipients stay; their addresses are suppressed by hand (reason manual), " +
				"so that no mailing reaches them. The answer counts the addresses that were not suppressed yet. Done in batches of 500, each its own transaction.",
			body: ref("RecipientSelection"), ok: ref("Count")},
		"POST /recipients/bulk/export.csv": {tag: "recipients", who: whoUser, summary: "Export a selection of the caller's recipients as CSV",
			desc:   "The body selects as for /recipients/bulk/count; the file is as GET /recipients.csv.",
			params: []param{bomParam, separatorParam}, body: ref("RecipientSelection"), ok: str(), okType: "text/csv"},
		"POST /recipients/import": {tag: "recipients", who: whoAuthor, summary: "Import recipients from a CSV file",
			desc: "The body is the file (text/csv), or the part named file of a multipart/form-data body; at most SIMPLESENDER_UPLOAD_MAX bytes (default 50 MiB; 413). " +
				"UTF-8 (with or without BOM) and Windows-1251, separators , ; and tab are detected; the header names the columns (English or Russian). " +
				"Every row is checked first: a file with invalid rows imports nothing (422 with the summary under import) unless valid_only=true. " +
				"Importing the same file twice changes nothing the second time. " +
				"An address on the suppression list is imported but stays suppressed: suppressed counts such rows and suppressed_rows lists the first 1000. " +
				"The file becomes the caller's import job, run in the background by any instance; the answer waits for it up to wait seconds, " +
				"then is 202 with the job (Location: /imports/{id}) if it still runs. " +
				"A caller has one import at a time: 409 while the previous one is queued or running. " +
				"413 also when the files waiting or being imported by everyone would pass SIMPLESENDER_UPLOAD_TOTAL_MAX (try later).",
			params: []param{
				query("wait", "Seconds to wait for the import to end before answering 202 (0 to 50).", schema{"type": "integer", "minimum": 0, "default": 50}),
				query("mode", "Rows whose address the owner already has: skip (default) or update them.", enum("skip", "update")),
				query("valid_only", "Import the valid rows of a file that has invalid ones.", schema{"type": "boolean", "default": false}),
				query("dry_run", "Check and count only; write nothing.", schema{"type": "boolean", "default": false}),
				query("list_id", "Put everyone in the file (new, updated or already there) on this list of the caller's (422 on list_id otherwise).", integer()),
				query("list", "As list_id, by the list's name; a list of that name is made when the caller has none.", str()),
				separatorParam,
				query("encoding", "Force the encoding instead of detecting it.", enum("utf-8", "windows-1251")),
			},
			rawBody: true, ok: ref("ImportSummary"), accepted: ref("ImportJob"), errs: []int{409, 413}},
		"GET /imports/{id}": {tag: "recipients", who: whoUser, summary: "An import job: its state, progress and, once ended, its result",
			desc: "A job is kept an hour after it ends; every instance of the service answers for it.", ok: ref("ImportJob"), stringID: true},
		"DELETE /imports/{id}": {tag: "recipients", who: whoUser, summary: "Cancel an import",
			desc:     "A queued or running import stops (the rows already written stay) and its file is removed. 409 once it has ended.",
			okStatus: 204, errs: []int{409}, stringID: true},
		"GET /recipients/{id}":    {tag: "recipients", who: whoUser, summary: "One recipient (ETag, If-None-Match)", ok: ref("Recipient")},
		"PATCH /recipients/{id}":  {tag: "recipients", who: whoOwner, summary: "Change a recipient (absent fields keep their value)", body: ref("RecipientPatch"), ok: ref("Recipient")},
		"DELETE /recipients/{id}": {tag: "recipients", who: whoOwner, summary: "Delete a recipient (the delivery history keeps its copy)", okStatus: 204},

		"GET /lists": {tag: "lists", who: whoUser, summary: "List recipient lists by name, with their member counts (staff: everyone's)",
			params: append([]param{searchParam, ownerParam}, pageParams...), ok: ref("ListList")},
		"POST /lists": {tag: "lists", who: whoAuthor, summary: "Create a list of recipients",
			desc: "Names are unique per owner, case-insensitively (422 on name otherwise).", body: ref("ListInput"), okStatus: 201, ok: ref("List")},
		"GET /lists/{id}":   {tag: "lists", who: whoUser, summary: "One list with its member count (ETag, If-None-Match)", ok: ref("List")},
		"PATCH /lists/{id}": {tag: "lists", who: whoOwner, summary: "Rename a list", body: ref("ListInput"), ok: ref("List")},
		"DELETE /lists/{id}": {tag: "lists", who: whoOwner, summary: "Delete a list (its recipients stay; mailings lose it from their audience)",
			okStatus: 204},
		"GET /lists/{id}/recipients": {tag: "lists", who: whoUser, summary: "The members of a list, page by page, as GET /recipients",
			params: append(listParams(recipientSorts), query("tag", "Only the members with this tag.", str())), ok: ref("RecipientList")},

		"GET /fields": {tag: "fields", who: whoUser, summary: "List custom fields in their order (staff: everyone's)",
			params: []param{ownerParam}, ok: ref("FieldList")},
		"POST /fields": {tag: "fields", who: whoAuthor, summary: "Define a custom field of recipients",
			desc: "Types text, number, date and bool (yes/no). Keys are unique per owner (422 on key otherwise); at most 50 fields per user (422 on key). " +
				"The key and the type cannot change later.",
			body: ref("FieldInput"), okStatus: 201, ok: ref("Field")},
		"GET /fields/{id}":   {tag: "fields", who: whoUser, summary: "One custom field (ETag, If-None-Match)", ok: ref("Field")},
		"PATCH /fields/{id}": {tag: "fields", who: whoOwner, summary: "Rename a custom field (its key and type stay)", body: ref("FieldPatch"), ok: ref("Field")},
		"DELETE /fields/{id}": {tag: "fields", who: whoOwner, summary: "Delete a custom field with every recipient's value of it",
			desc: "Messages that name it render its default (or nothing).", okStatus: 204},
		"GET /segments": {tag: "segments", who: whoUser, summary: "List segments by name (staff: everyone's)",
			params: append([]param{searchParam, ownerParam}, pageParams...), ok: ref("SegmentList")},
		"POST /segments": {tag: "segments", who: whoAuthor, summary: "Save a segment: a filter over the caller's recipients",
			desc: segmentDesc + " Names are unique per owner, case-insensitively (422 on name otherwise).",
			body: ref("SegmentInput"), okStatus: 201, ok: ref("Segment")},
		"POST /segments/count": {tag: "segments", who: whoUser, summary: "How many of the caller's recipients a definition, saved or not, matches now",
			desc: "The editor's live count. 422 with the fields definition or conditions.N (N from 1) for a definition that is not valid.",
			body: ref("SegmentCountInput"), ok: ref("Count")},
		"GET /segments/{id}": {tag: "segments", who: whoUser, summary: "One segment, with count: how many recipients it matches now", ok: ref("Segment")},
		"PUT /segments/{id}": {tag: "segments", who: whoOwner, summary: "Replace a segment's name and definition",
			desc: "Mailings whose audience names it use the new definition from their next run.", body: ref("SegmentInput"), ok: ref("Segment")},
		"DELETE /segments/{id}": {tag: "segments", who: whoOwner, summary: "Delete a segment (recipients stay; mailings lose it from their audience)",
			okStatus: 204},
		"GET /segments/{id}/recipients": {tag: "segments", who: whoUser, summary: "The recipients a segment matches now, page by page, as GET /recipients",
			params: append(listParams(recipientSorts), query("tag", "Only those with this tag.", str())), ok: ref("RecipientList")},

		"GET /messages": {tag: "messages", who: whoUser, summary: "List messages (staff: everyone's)",
			params: listParams(messageSorts), ok: ref("MessageList")},
		"POST /messages": {tag: "messages", who: whoAuthor, summary: "Add a message",
			desc: "Placeholders {{first_name}}, {{last_name}}, {{middle_name}}, {{full_name}}, {{email}}, {{unsubscribe_url}} and the keys of the caller's custom fields ({{city}}), each with an optional default ({{city|Moscow}}); a broken or unknown placeholder is 422.",
			body: ref("MessageInput"), okStatus: 201, ok: ref("Message")},
		"GET /messages/{id}":    {tag: "messages", who: whoUser, summary: "One message (ETag, If-None-Match)", ok: ref("Message")},
		"PATCH /messages/{id}":  {tag: "messages", who: whoOwner, summary: "Change a message (absent fields keep their value)", body: ref("MessagePatch"), ok: ref("Message")},
		"DELETE /messages/{id}": {tag: "messages", who: whoOwner, summary: "Delete a message (409 while a mailing uses it)", okStatus: 204, errs: []int{409}},

		"GET /mailings": {tag: "mailings", who: whoUser, summary: "List mailings (staff: everyone's)",
			params: append(listParams(mailingSorts), query("status", "active is the same as running.", enum("created", "running", "finished", "active"))),
			ok:     ref("MailingList")},
		"POST /mailings": {tag: "mailings", who: whoAuthor, summary: "Create a mailing of one of the caller's messages to some of the caller's recipients",
			body: ref("MailingInput"), okStatus: 201, ok: ref("Mailing")},
		"GET /mailings/{id}": {tag: "mailings", who: whoUser, summary: "One mailing with its counts and status detail (ETag, If-None-Match)",
			desc: "Without recipient_ids: the answer and its cost do not grow with the audience (recipient_count says how many), " +
				"so it can be polled while the mailing is sent. GET /mailings/{id}/recipients pages the audience.",
			ok: ref("Mailing")},
		"GET /mailings/{id}/recipients": {tag: "mailings", who: whoUser, summary: "The chosen recipients of a mailing, page by page, by id",
			params: pageParams, ok: ref("RecipientList")},
		"GET /mailings/{id}/audience": {tag: "mailings", who: whoUser, summary: "The lists and tags of a mailing's audience, and how many it reaches now",
			desc: "count is the number of recipients a run starting now would be sent to: the chosen ones (chosen_count) and everyone on an included list or with an included tag, " +
				"minus those on an excluded list or with an excluded tag, each address once. A run fixes this set when it starts.",
			ok: ref("MailingAudience")},
		"PATCH /mailings/{id}": {tag: "mailings", who: whoOwner, summary: "Change a mailing (absent fields keep their value; recipient_ids replaces the audience)",
			body: ref("MailingPatch"), ok: ref("Mailing"), errs: []int{409}},
		"DELETE /mailings/{id}": {tag: "mailings", who: whoOwner, summary: "Delete a mailing and its history (409 while it is being sent)", okStatus: 204, errs: []int{409}},
		"POST /mailings/{id}/send": {tag: "mailings", who: whoOwner, summary: "Send now",
			desc:     "Queues the send; the background engine does it. A second request while one is due or running is 409.",
			okStatus: 202, ok: ref("Mailing"), errs: []int{409}},
		"POST /mailings/{id}/schedule": {tag: "mailings", who: whoOwner, summary: "Schedule a one-time send",
			desc: "send_at is RFC 3339; a time not in the future is 422 (field send_at). Replaces a pending time.",
			body: input(map[string]schema{"send_at": dateTime()}, "send_at"), ok: ref("Mailing"), errs: []int{409}},
		"POST /mailings/{id}/cancel": {tag: "mailings", who: whoOwner, summary: "Cancel a scheduled or running send (owner, admins; managers disable instead)",
			ok: ref("Mailing"), errs: []int{409}},
		"POST /mailings/{id}/resend": {tag: "mailings", who: whoOwner, summary: "Resend to the failed or unknown deliveries of the last run",
			desc: "Starts a new run; earlier runs stay visible. 409 when there is nothing to resend.",
			body: input(map[string]schema{"kind": enum("failed", "unknown")}, "kind"), okStatus: 202, ok: ref("Mailing"), errs: []int{409}},
		"POST /mailings/{id}/disable": {tag: "mailings", who: whoStaff, summary: "Disable a mailing (managers, admins); cancels what is scheduled or running", ok: ref("Mailing")},
		"POST /mailings/{id}/enable":  {tag: "mailings", who: whoStaff, summary: "Enable a disabled mailing (managers, admins)", ok: ref("Mailing")},
		"POST /mailings/{id}/duplicate": {tag: "mailings", who: whoOwner, summary: "Copy a mailing: the same message and recipients, a new name (\"Copy of ...\" in the caller's language), nothing sent or planned",
			okStatus: 201, ok: ref("Mailing"), errs: []int{409}},
		"POST /mailings/{id}/test": {tag: "mailings", who: whoOwner, summary: "Send a test of a mailing to yourself and up to 5 addresses",
			desc: "Rendered for recipient_id (default: the mailing's first recipient, or sample values), sent at once through the mail server, " +
				"not counted in the reports, recorded in the audit log. to_me defaults to true. 422 names the field (to, recipient_id); " +
				"429 after 10 tests an hour; 503 when the mail server refuses.",
			body: input(map[string]schema{"to_me": boolean(), "to": arr(str()), "recipient_id": integer()}),
			ok:   object(map[string]schema{"sent_to": arr(str()), "recipient_id": nullable(integer()), "sent_at": dateTime()}),
			errs: []int{409, 429, 503}},
		"GET /mailings/{id}/runs": {tag: "deliveries", who: whoUser, summary: "The send runs of a mailing, newest first",
			params: pageParams, ok: ref("RunList")},
		"GET /mailings/{id}/deliveries": {tag: "deliveries", who: whoUser, summary: "Per recipient state of a run (default: the last)",
			params: append([]param{query("run", "A run id (see /runs).", integer()),
				query("status", "pending also takes in sending and deferred.", enumOf(simplesender.DeliveryStatuses(nil))),
				query("q", "Part of the address.", str())}, pageParams...),
			ok: ref("DeliveryList")},
		"GET /mailings/{id}/attempts": {tag: "deliveries", who: whoUser, summary: "Every delivery attempt of a mailing, oldest first",
			params: pageParams, ok: ref("AttemptList")},
		"GET /mailings/{id}/attempts.csv": {tag: "deliveries", who: whoUser, summary: "Every attempt as CSV",
			desc:   "Columns id, run, email, attempted_at (caller's time zone), status, code, enhanced, response.",
			params: []param{bomParam}, ok: str(), okType: "text/csv"},

		"GET /identities": {tag: "senders", who: whoUser, summary: "List sender identities (staff: everyone's)", ok: ref("IdentityList")},
		"POST /identities": {tag: "senders", who: whoAuthor, summary: "Add a sender identity",
			desc: "The caller's first identity is the default, as is one created with default=true. Mailings from a domain that is neither verified by the caller nor allowed by an admin are refused (409); tests of them go to the caller only.",
			body: ref("IdentityInput"), okStatus: 201, ok: ref("Identity")},
		"GET /identities/{id}":    {tag: "senders", who: whoUser, summary: "One sender identity (ETag, If-None-Match)", ok: ref("Identity")},
		"PATCH /identities/{id}":  {tag: "senders", who: whoOwner, summary: "Change a sender identity (absent fields keep their value; running sends keep their sender)", body: ref("IdentityPatch"), ok: ref("Identity")},
		"DELETE /identities/{id}": {tag: "senders", who: whoOwner, summary: "Delete a sender identity (its mailings send from the default)", okStatus: 204},
		"GET /domains":            {tag: "senders", who: whoUser, summary: "List sender domains with the records to publish (staff: everyone's)", ok: ref("DomainList")},
		"POST /domains": {tag: "senders", who: whoAuthor, summary: "Add a domain to verify",
			desc: "Publish the verification TXT record the answer gives, then POST /domains/{id}/verify.",
			body: input(map[string]schema{"domain": str()}, "domain"), okStatus: 201, ok: ref("Domain"), errs: []int{409}},
		"GET /domains/{id}":    {tag: "senders", who: whoUser, summary: "One sender domain with its verification and DKIM records (ETag, If-None-Match)", ok: ref("Domain")},
		"DELETE /domains/{id}": {tag: "senders", who: whoOwner, summary: "Delete a sender domain and its DKIM keys", okStatus: 204},
		"POST /domains/{id}/verify": {tag: "senders", who: whoOwner, summary: "Look up the verification record and verify the domain",
			desc: "409 when the record is not found (503 when DNS fails). The first verification makes the DKIM keys (RSA 2048 and Ed25519), which sign at once.",
			ok:   ref("Domain"), errs: []int{409, 503}},
		"GET /domains/{id}/health": {tag: "senders", who: whoUser, summary: "Look up the domain's DKIM, SPF and DMARC records",
			desc: "What Gmail, Yahoo and Outlook.com check of bulk senders, with advice (message keys and text in the caller's language).",
			ok:   ref("DomainHealth"), errs: []int{503}},
		"POST /domains/{id}/rotate": {tag: "senders", who: whoOwner, summary: "Start a key rotation: new keys under new selectors, to publish first",
			ok: ref("Domain"), errs: []int{409}},
		"POST /domains/{id}/switch": {tag: "senders", who: whoOwner, summary: "Sign with the new keys; the old ones are kept, retired, until removed",
			ok: ref("Domain"), errs: []int{409}},
		"POST /domains/{id}/remove-retired": {tag: "senders", who: whoOwner, summary: "Delete the retired keys of a domain", ok: ref("Domain")},
		"GET /domain-rules":                 {tag: "senders", who: whoStaff, summary: "Domains allowed or forbidden for everyone", ok: ref("DomainRules")},
		"POST /domain-rules": {tag: "senders", who: whoStaff, summary: "Allow or forbid a domain for everyone (admins); rule none removes the rule",
			body: input(map[string]schema{"domain": str(), "rule": enum("allow", "forbid", "none")}, "domain", "rule"), ok: ref("DomainRules")},
		"GET /suppressions": {tag: "suppressions", who: whoUser, summary: "List suppressed addresses, newest first (staff: everyone's and the service-wide list)",
			desc:   "A delivery to a suppressed address (the owner's list or the service-wide one) ends as suppressed when the engine claims it: no message is sent.",
			params: append([]param{searchParam, suppressionReasonParam, ownerParam, serviceWideParam}, pageParams...), ok: ref("SuppressionList")},
		"POST /suppressions": {tag: "suppressions", who: whoAuthor, summary: "Suppress an address",
			desc: "reason is manual by default. Admins may name owner_id, or service_wide=true for every user's mailings. " +
				"An address already on that list keeps its first record: the answer is that record with created=false. Audited.",
			body: input(map[string]schema{"email": str(), "reason": enumOf(simplesender.SuppressionReasons), "note": str(),
				"owner_id": integer(), "service_wide": boolean()}, "email"),
			ok: object(with(suppressionFields(), map[string]schema{"created": boolean()})), errs: []int{404}},
		"GET /suppressions.csv": {tag: "suppressions", who: whoUser, summary: "Export suppressed addresses as CSV",
			desc:   "Columns email, reason, note, owner (empty: service-wide), mailing_id, created_at, created_by; oldest first; selected as by GET /suppressions.",
			params: []param{bomParam, separatorParam, searchParam, suppressionReasonParam, ownerParam, serviceWideParam}, ok: str(), okType: "text/csv"},
		"POST /suppressions/import": {tag: "suppressions", who: whoAuthor, summary: "Suppress the addresses of a CSV file",
			desc: "The body is the file (text/csv), or the part named file of a multipart/form-data body. The e-mail column is found as for a recipient import; " +
				"a note or comment column becomes each row's note. Rows without a valid address are skipped and listed. At most 100,000 rows. Audited as one event.",
			params:  []param{suppressionReasonParam, query("note", "The note of rows without one.", str()), ownerParam, serviceWideParam},
			rawBody: true, ok: ref("SuppressionImport"), errs: []int{404}},
		"GET /suppressions/{id}": {tag: "suppressions", who: whoUser, summary: "One suppressed address", ok: ref("Suppression")},
		"DELETE /suppressions/{id}": {tag: "suppressions", who: whoOwner, summary: "Take an address off its suppression list",
			desc:   "reason is required (422 otherwise) and kept in the audit log with who removed it. Admins only for the service-wide list.",
			params: []param{query("reason", "Why it may be mailed again.", str())}, okStatus: 204, errs: []int{422}},

		"GET /deliveries/{id}": {tag: "deliveries", who: whoUser, summary: "One delivery with its attempts and the bounces and complaints that came back",
			ok: ref("OneDelivery")},

		"GET /webhooks": {tag: "webhooks", who: whoUser, summary: "The caller's webhook endpoints (staff: everyone's)",
			ok: ref("WebhookList")},
		"POST /webhooks": {tag: "webhooks", who: whoAuthor, summary: "Add a webhook endpoint",
			desc: "The service POSTs what happens to the caller's deliveries to url as JSON batches of up to 100 events, " +
				"signed in the header Simplesender-Signature: t=UNIX_SECONDS,v1=HEX, HEX being the HMAC-SHA256 keyed by the secret of UNIX_SECONDS, a full stop and the raw body. " +
				"A batch not answered 2xx within 10 s is retried after 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h and 8 h, then dropped and the endpoint disabled; each event has an id to drop copies by. events defaults to all of them, enabled to true. " +
				"The URL must be http or https and must not resolve to a loopback, private or link-local address (422 on url), " +
				"unless the service allows it. At most 10 endpoints per user. The answer holds the new secret.",
			body: ref("WebhookInput"), okStatus: 201, ok: ref("Webhook")},
		"GET /webhooks/{id}": {tag: "webhooks", who: whoUser, summary: "One webhook endpoint", ok: ref("Webhook")},
		"PATCH /webhooks/{id}": {tag: "webhooks", who: whoOwner, summary: "Change a webhook endpoint (absent fields keep their value)",
			desc: "Enabling an endpoint the service disabled (after failing for about a day) clears the notice; its waiting batches are sent again.",
			body: ref("WebhookInput"), ok: ref("Webhook")},
		"DELETE /webhooks/{id}": {tag: "webhooks", who: whoOwner, summary: "Delete a webhook endpoint, what waits for it and its log",
			okStatus: 204},
		"POST /webhooks/{id}/test": {tag: "webhooks", who: whoOwner, summary: "Send the endpoint one webhook.test event now",
			desc: "The answer is the request's log entry, whatever the endpoint answered.", ok: ref("WebhookLogEntry")},
		"POST /webhooks/{id}/rotate-secret": {tag: "webhooks", who: whoOwner, summary: "Give the endpoint a new signing secret",
			desc: "Requests are signed with the new secret from now on; the old one stops working at once.", ok: ref("Webhook")},
		"GET /webhooks/{id}/log": {tag: "webhooks", who: whoUser, summary: "The requests made to the endpoint, newest first",
			desc:   "Kept 7 days, at most 200 per endpoint. response is the start of the endpoint's answer (1 KiB at most).",
			params: pageParams, ok: ref("WebhookLog")},

		"GET /stats": {tag: "reports", who: whoUser, summary: "Figures over all time (regular users: their own; staff: everyone's)", ok: ref("Stats")},
		"GET /reports/unmatched": {tag: "reports", who: whoStaff, summary: "Bounces and complaints that named no delivery (managers, admins)",
			desc:   "Reports received by the inbound listener or a provider webhook whose VERP address or quoted Message-ID is not one of ours (forwarded bounces, reports of deleted mailings), newest first.",
			params: pageParams, ok: ref("UnmatchedReportList")},
		"GET /reports/unmatched/{id}": {tag: "reports", who: whoStaff, summary: "One report that named no delivery, with the message it came in (managers, admins)",
			desc: "raw is the message as received (a webhook's body) while it is kept (SIMPLESENDER_INBOUND_RETENTION), then null.",
			ok:   ref("UnmatchedReport")},
		"GET /reports/rates": {tag: "reports", who: whoUser, summary: "Bounce, complaint and unsubscribe rates of a user's mailings over a period",
			desc: "Counts and rates (percent of the messages sent in the period) in total, per mailing that sent or got anything back, " +
				"and per day of the period in the caller's time zone. Read from counters, never from the deliveries. " +
				"rates is null when nothing was sent (a day, a mailing or the period). Staff may name another user with owner_id.",
			params: append([]param{ownerParam}, periodParam...), ok: ref("Rates"), errs: []int{404, 422}},
		"GET /mailings/{id}/rates": {tag: "reports", who: whoUser, summary: "Bounce, complaint and unsubscribe rates of one mailing over a period",
			desc:   "As GET /reports/rates for one mailing (mailings is empty).",
			params: periodParam, ok: ref("Rates"), errs: []int{422}},
		"GET /reports/senders": {tag: "reports", who: whoStaff, summary: "Senders' hard-bounce and complaint rates over a period, worst first (managers, admins)",
			desc: "Every user who sent or got anything back in the period, worst first: the larger of the hard-bounce rate over " +
				"bounce_alert_rate (SIMPLESENDER_BOUNCE_ALERT_RATE) and the complaint rate over complaint_line (0.3, Gmail's). " +
				"hard_bounce_alert and complaint_alert say which line a user is above. Act with POST /users/{id}/block or " +
				"POST /mailings/{id}/disable.",
			params: append(append([]param{}, periodParam...), pageParams...), ok: ref("SenderList"), errs: []int{422}},
		"GET /stats/users": {tag: "reports", who: whoStaff, summary: "Figures per user (managers, admins)",
			params: pageParams, ok: ref("UserStatsList")},
		"GET /reports.csv": {tag: "reports", who: whoUser, summary: "The report of a user's mailings over a period, as CSV",
			desc:   "One row per mailing and a total row; attempts counted in the period.",
			params: append([]param{bomParam, ownerParam}, periodParam...), ok: str(), okType: "text/csv"},
		"GET /reports/users.csv": {tag: "reports", who: whoStaff, summary: "The staff's report, one row per user, as CSV",
			params: append([]param{bomParam}, periodParam...), ok: str(), okType: "text/csv"},
	}
}

// errorText describes each error status.
var errorText = map[int]string{
	400: "Malformed request: not JSON, a field of the wrong type or unknown, a bad query parameter (code bad_request).",
	401: "No valid bearer token (code unauthenticated).",
	403: "Not allowed (code forbidden).",
	404: "No such object, or another user's (code not_found).",
	409: "The object's state does not allow it (code conflict).",
	413: "The body is too large (code too_large).",
	422: "Invalid input; fields names each field and its problem (code invalid).",
	429: "Too many attempts; see Retry-After, in seconds (code rate_limited).",
	503: "Too many password checks at once, or a store the service needs does not answer; try again, after Retry-After when given (code unavailable).",
	500: "Internal error (code internal).",
}

// errorStatuses returns the error answers of operation o on path, by rule.
func (o operation) errorStatuses(method, path string) []int {
	set := map[int]bool{400: true, 500: true}
	if o.who != whoAnyone {
		set[401] = o.who != whoOptional || o.body != nil
	}
	if o.who == whoOwner || o.who == whoStaff || o.who == whoAuthor {
		set[403] = true
	}
	if strings.Contains(path, "{id}") {
		set[404] = true
	}
	if o.body != nil || o.rawBody || o.imageBody {
		set[413], set[422] = true, true
	}
	for _, p := range o.params {
		if p.name == "sort" || p.name == "from" || p.name == "to" {
			set[422] = true
		}
		if p.name == "owner_id" && strings.HasSuffix(path, ".csv") {
			set[404] = true
		}
	}
	for _, s := range o.errs {
		set[s] = true
	}
	out := []int{}
	for s, on := range set {
		if on {
			out = append(out, s)
		}
	}
	sort.Ints(out)
	return out
}

// openAPIDocument builds the document.
func openAPIDocument() []byte {
	paths := map[string]map[string]any{}
	for pattern, o := range operations() {
		method, path, _ := strings.Cut(pattern, " ")
		op := map[string]any{"summary": o.summary, "tags": []string{o.tag},
			"operationId": strings.ToLower(method) + opName(path)}
		if o.desc != "" {
			op["description"] = o.desc
		}
		switch o.who {
		case whoAnyone:
			op["security"] = []any{}
		case whoOptional:
			op["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}}
		}
		var params []any
		if strings.Contains(path, "{id}") {
			id := integer()
			if o.stringID {
				id = schema{"type": "string", "pattern": "^[0-9a-f]{32}$"}
			}
			params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": id})
		}
		for _, p := range o.params {
			q := map[string]any{"name": p.name, "in": p.in, "schema": p.schema}
			if p.desc != "" {
				q["description"] = p.desc
			}
			params = append(params, q)
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case o.body != nil:
			op["requestBody"] = map[string]any{"required": method == "POST" && pattern != "POST /tokens",
				"content": map[string]any{"application/json": map[string]any{"schema": o.body}}}
		case o.rawBody:
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv": map[string]any{"schema": schema{"type": "string"}},
				"multipart/form-data": map[string]any{"schema": schema{"type": "object", "required": []string{"file"},
					"properties": map[string]any{"file": schema{"type": "string", "contentMediaType": "text/csv"}}}},
			}}
		case o.imageBody:
			img := schema{"type": "string", "contentEncoding": "binary"}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"image/png": map[string]any{"schema": img}, "image/jpeg": map[string]any{"schema": img},
				"image/webp": map[string]any{"schema": img},
				"multipart/form-data": map[string]any{"schema": schema{"type": "object", "required": []string{"file"},
					"properties": map[string]any{"file": schema{"type": "string", "contentMediaType": "image/*"}}}},
			}}
		}
		responses := map[string]any{}
		okStatus := o.okStatus
		if okStatus == 0 {
			okStatus = 200
		}
		okResp := map[string]any{"description": "Success."}
		if o.ok != nil {
			mt := o.okType
			if mt == "" {
				mt = "application/json"
			}
			okResp["content"] = map[string]any{mt: map[string]any{"schema": o.ok}}
		}
		if method == "GET" && strings.HasSuffix(path, "{id}") && !o.stringID {
			okResp["headers"] = map[string]any{"ETag": map[string]any{"schema": str(), "description": "A hash of the body; send it in If-None-Match."}}
			responses["304"] = map[string]any{"description": "Not modified: If-None-Match names the current ETag. No body."}
		}
		if okStatus == 201 {
			okResp["headers"] = map[string]any{"Location": map[string]any{"schema": str()}}
		}
		responses[strconv.Itoa(okStatus)] = okResp
		if o.accepted != nil {
			responses["202"] = map[string]any{"description": "Accepted: still running; follow it at Location.",
				"headers": map[string]any{"Location": map[string]any{"schema": str()}},
				"content": map[string]any{"application/json": map[string]any{"schema": o.accepted}}}
		}
		for _, s := range o.errorStatuses(method, path) {
			sch := ref("Error")
			if s == 422 && o.rawBody {
				sch = schema{"anyOf": []any{ref("Error"), ref("ImportError")}}
			}
			responses[strconv.Itoa(s)] = map[string]any{"description": errorText[s],
				"content": map[string]any{"application/json": map[string]any{"schema": sch}}}
		}
		op["responses"] = responses
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "simpleSENDER API", "version": "1",
			"description": "JSON API of simpleSENDER. Authenticate with Authorization: Bearer TOKEN. Errors are " +
				`{"error": {"code", "message", "fields"}} with messages in the caller's language (Accept-Language, or the account's setting). ` +
				`Lists are {"items", "total", "page", "per_page", "pages"}; per_page at most 500 (the UI offers 25, 50, 100 and 500); pages is the number of pages (0 for an empty list); a page past the last has no items. Times are RFC 3339 in UTC; ids are integers (import jobs: 32 hex digits). ` +
				"Another user's object is 404 for a regular user. Managers read everyone's objects and disable and enable mailings, " +
				"and get 403 for anything else: creating, changing, deleting, sending, cancelling (their own data included). " +
				"Admins may do everything to anyone's objects; each such change is recorded in the audit log and shown to the owner."},
		"servers":    []any{map[string]any{"url": Prefix}},
		"security":   []any{map[string]any{"bearer": []string{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": components(), "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("api: OpenAPI document: " + err.Error())
	}
	return b
}

// opName turns a path into a CamelCase operation name part.
func opName(path string) string {
	var b strings.Builder
	up := true
	for _, r := range path {
		switch {
		case r == '/' || r == '-' || r == '.' || r == '{' || r == '}':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// openAPI serves the OpenAPI document.
func (x *API) openAPI(w http.ResponseWriter, _ *http.Request, _ *simplesender.User) error {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(x.openapi)
	return nil
}

// OpenAPI returns the OpenAPI 3.1 document of the API (for the web UI's API
// page).
func OpenAPI() []byte { return openAPIDocument() }

// segmentDesc describes a segment's definition.
const segmentDesc = "A definition matches the recipients meeting all (match all) or any (match any) of 1 to 20 conditions. " +
	"Fields and operators: email, name (any of the three names), comment: contains, not_contains, eq, neq, starts_with, ends_with " +
	"(value: text, case-insensitive), empty, not_empty; created: before, since (value: YYYY-MM-DD, UTC); list: in, not_in (value: a list id of the caller's); " +
	"tag: has, has_not (value: a tag); history: was_sent, not_sent, failed, bounced, complained, unsubscribed (mailing: a mailing id of the caller's, " +
	"or 0 or absent for any; no value). was_sent counts a delivery the server accepted, also if it bounced or was reported later. " +
	"422 with the fields definition or conditions.N (N from 1) says what is wrong."

// segmentDefinitionSchema is the schema of a segment's definition.
func segmentDefinitionSchema() schema {
	cond := object(map[string]schema{"field": enumOf(simplesender.SegmentFields), "op": str(),
		"value": schema{"type": []string{"string", "integer"}}, "mailing": integer()})
	cond["required"] = []string{"field", "op"}
	d := object(map[string]schema{"match": enum("all", "any"),
		"conditions": schema{"type": "array", "items": cond, "minItems": 1, "maxItems": simplesender.MaxSegmentConditions}})
	d["required"] = []string{"conditions"}
	return d
}

// optional makes the properties names of object s optional.
func optional(s schema, names ...string) schema {
	req := s["required"].([]string)
	for _, n := range names {
		req = without(req, n)
	}
	s["required"] = req
	return s
}
