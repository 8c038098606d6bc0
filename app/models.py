"""Every domain's tables, imported so Alembic sees one metadata."""

from app.catalog import models as _catalog  # noqa: F401
from app.console import models as _console  # noqa: F401
from app.core import models as _core  # noqa: F401
from app.core.db import Base
from app.customers import models as _customers  # noqa: F401
from app.fulfillment import models as _fulfillment  # noqa: F401
from app.integration import models as _integration  # noqa: F401
from app.inventory import models as _inventory  # noqa: F401
from app.loyalty import models as _loyalty  # noqa: F401
from app.orders import models as _orders  # noqa: F401
from app.orders.returns import models as _returns  # noqa: F401
from app.pricing import models as _pricing  # noqa: F401
from app.reports import models as _reports  # noqa: F401

metadata = Base.metadata
