"""Returns use cases, one file per stage; app/orders/returns/service.py is their face."""
