package config

import (
	"fmt"
	"strconv"
)

// EnvWebhookAllowPrivate lets users' webhook endpoints be on loopback,
// private and link-local addresses (off by default: SSRF).
const EnvWebhookAllowPrivate = "SIMPLESENDER_WEBHOOK_ALLOW_PRIVATE"

// webhookAllowPrivate reads EnvWebhookAllowPrivate.
func webhookAllowPrivate(get func(key, def string) string) (bool, error) {
	b, err := strconv.ParseBool(get(EnvWebhookAllowPrivate, "false"))
	if err != nil {
		return false, fmt.Errorf("%s: want true or false", EnvWebhookAllowPrivate)
	}
	return b, nil
}
