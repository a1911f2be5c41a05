"""REST API routers under /api."""
