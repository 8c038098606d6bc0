"""ASGI entry for uvicorn workers: `uvicorn app.asgi:app`. The URLs come from the environment."""

from app.main import create_app

app = create_app()
