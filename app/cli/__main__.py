"""`python -m app.cli ...` (how `oms serve` starts its worker, and what tests and ops run)."""

from app.cli import main

main()
