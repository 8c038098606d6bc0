"""Loyalty use cases, one module per job; `app/loyalty/service.py` is their public face."""
