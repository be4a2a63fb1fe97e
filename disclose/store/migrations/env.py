"""Alembic environment: runs on the connection handed over by disclose.store.base.migrate."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from disclose.store import casework, tables  # noqa: F401  (register the tables)
from disclose.store import requestwork  # noqa: F401  (request settings, s12 estimates)
from disclose.store.base import Base

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
