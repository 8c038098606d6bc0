"""`python -m app.cli ...` (how `oms serve` starts its worker, and what tests and ops run)."""

from app.cli import main

if __name__ == "__main__":  # not when a test imports every module of app
    main()
