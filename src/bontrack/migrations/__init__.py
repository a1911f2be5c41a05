"""Alembic migrations of the registry schema (env.py, script template, versions/)."""
