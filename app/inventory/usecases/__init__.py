"""Inventory use cases, one module per job; `app/inventory/service.py` is their public face."""
