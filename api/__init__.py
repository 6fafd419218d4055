"""The officers' HTTP API (FastAPI): `api.main:app`."""
