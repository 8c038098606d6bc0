"""Catalog use cases, one module per job; `app/catalog/service.py` is their public face."""
