"""Pricing use cases; `app/pricing/service.py` is their public face."""
