"""telespine.store: SQLAlchemy models, repositories and Alembic migrations.

Every model module is imported here so that Base.metadata always holds every table (the
migrations and the schema test compare against it).
"""

from telespine.store import (
    models,
    models_accounts,
    models_care,
    models_checkin,
    models_fhir,
    models_medicines,
    models_program,
    models_visits,
)

__all__ = [
    "models",
    "models_accounts",
    "models_care",
    "models_checkin",
    "models_fhir",
    "models_medicines",
    "models_program",
    "models_visits",
]
