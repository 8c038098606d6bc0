"""The orders domain's use cases, one module per area; `app.orders.service` is their public face."""
