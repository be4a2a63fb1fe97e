"""The case store: SQLAlchemy tables and Alembic migrations, SQLite by default and PostgreSQL at scale."""

from disclose.store.base import Base, CaseStore, open_store

__all__ = ["Base", "CaseStore", "open_store"]
