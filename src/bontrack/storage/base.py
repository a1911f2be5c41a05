"""The declarative base every table of the registry is declared on."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every bontrack table."""
