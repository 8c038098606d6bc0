"""Problem types of integrations."""

from app.core.errors import NotFound, Problem


class UnknownSubscription(NotFound):
    code, title = "unknown_webhook", "Webhook subscription not found"


class UnknownDelivery(NotFound):
    code, title = "unknown_delivery", "Webhook delivery not found"


class InvalidWebhookUrl(Problem):
    status, code, title = 422, "invalid_webhook_url", "Webhook URL must be http(s) with a host"


class WebhookAddressRefused(Problem):
    status, code, title = 422, "webhook_address_not_allowed", "Webhook URL points to an address that may not be called"


class UnknownEventType(Problem):
    status, code, title = 422, "unknown_event_type", "Unknown event type"
