"""Dramatiq entry: `dramatiq app.worker` imports every domain's actors (after the broker is set)."""

from app.console import jobs as _console_jobs
from app.core import broker as _broker  # noqa: F401  (sets the broker before actors are declared)
from app.core import jobs as _core_jobs
from app.customers import jobs as _customers_jobs
from app.fulfillment import jobs as _fulfillment_jobs
from app.integration import jobs as _integration_jobs
from app.inventory import jobs as _inventory_jobs
from app.loyalty import jobs as _loyalty_jobs
from app.orders import jobs as _orders_jobs
from app.orders.returns import jobs as _returns_jobs
from app.reports import jobs as _reports_jobs

PERIODIC: list[tuple[str, float]] = [
    *_console_jobs.PERIODIC,
    *_core_jobs.PERIODIC,
    *_customers_jobs.PERIODIC,
    *_fulfillment_jobs.PERIODIC,
    *_integration_jobs.PERIODIC,
    *_inventory_jobs.PERIODIC,
    *_loyalty_jobs.PERIODIC,
    *_orders_jobs.PERIODIC,
    *_returns_jobs.PERIODIC,
    *_reports_jobs.PERIODIC,
]
