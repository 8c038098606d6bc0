"""The customer domain's use cases, one job per module; `app.customers.service` is their public face."""
