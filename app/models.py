"""Every domain's tables, imported so Alembic sees one metadata."""

from app.catalog import models as _catalog  # noqa: F401
from app.core import models as _core  # noqa: F401
from app.core.db import Base

metadata = Base.metadata
