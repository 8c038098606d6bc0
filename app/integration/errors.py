"""Problem types of integrations."""

from app.core.errors import NotFound, Problem


class UnknownSubscription(NotFound):
    code, title = "unknown_webhook", "Webhook subscription not found"


class UnknownDelivery(NotFound):
    code, title = "unknown_delivery", "Webhook delivery not found"


class InvalidWebhookUrl(Problem):
    status, code, title = 422, "invalid_webhook_url", "Webhook URL must be http(s) with a host"
