"""Read-only figures for the retailer: the channel dashboard (see service.py)."""
