package app

import "simplesender/internal/store"

// Filter and record types of the use cases. They are the store's own types
// under app's name, so that web, api and cli depend on app alone (docs/architecture.md:
// one path to the data, through app's authorization).
type (
	// UserFilter selects users.
	UserFilter = store.UserFilter
	// ListFilter selects a page of a list (search, sort, paging).
	ListFilter = store.ListFilter
	// MailingFilter selects mailings.
	MailingFilter = store.MailingFilter
	// DeliveryFilter selects deliveries of a run.
	DeliveryFilter = store.DeliveryFilter
	// APIToken is a stored API token (never the token itself).
	APIToken = store.APIToken
	// Webhook is a user's webhook endpoint.
	Webhook = store.Webhook
	// WebhookLog is one request made to a webhook endpoint.
	WebhookLog = store.WebhookLog
)
