"""Persistence: SQLAlchemy models, repositories behind ``core.ports``, the unit of work,
dialog persistence tables, and Alembic migrations.

Wiring::

    engine = make_engine(settings.database_url)          # storage.db
    await ensure_schema(settings.database_url)           # storage.migrate; raises SchemaNotMigrated
    uow = sql_uow_factory(make_session_factory(engine))  # storage.uow; a UnitOfWorkFactory
    async with uow() as u:
        ...
        await u.commit()
"""
