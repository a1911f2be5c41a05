"""The web face: server-rendered pages and the REST API (FastAPI). No clinical logic here."""
