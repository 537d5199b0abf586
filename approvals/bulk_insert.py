"""Many rows of one model in a few multi-row INSERTs: lists of 200,000 recipients, ledgers of as many deliveries.

``bulk_create`` builds and prepares a model instance for every row; at these sizes that
is most of the time spent (200,000 recipients: about 4 of 7 seconds). Here each row is a
tuple of the fields given, every other column gets its default, prepared once per
statement, and only the values that need it (JSON, for instance) are prepared per row.
Nothing else in Django runs: no signals, no ``save()``, like ``bulk_create``.
"""

from collections.abc import Callable, Iterable, Sequence

from django.db import connection, models
from django.utils import timezone

# Rows per INSERT: with one parameter per column, far below SQLite's limit of 32,766 parameters.
ROWS_PER_INSERT = 1000

# Values the database driver takes as they are (str and int), so they are not prepared row by row.
_PASSED_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence], **fixed) -> int:
    """Insert one row per tuple of ``rows`` (values of the fields ``names``, in order); returns the count.

    ``fixed`` gives the same value to a field in every row (a foreign key as its id, ``campaign=3``).
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    by_name = {field.name: field for field in fields}
    defaults = [_prepared(field, fixed[field.name] if field.name in fixed else _default(field)) for field in fields]
    slots = [fields.index(by_name[name]) for name in names]
    preparers = [_preparer(by_name[name]) for name in names]
    count, batch = 0, []
    for row in rows:
        values = list(defaults)
        for slot, prepare, value in zip(slots, preparers, row, strict=True):
            values[slot] = value if prepare is None else prepare(value)
        batch.append(values)
        if len(batch) >= ROWS_PER_INSERT:
            count += _insert(model, fields, batch)
            batch.clear()
    return count + _insert(model, fields, batch)


def _default(field: models.Field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()  # what save() would set
    return field.get_default()


def _prepared(field: models.Field, value):
    return field.get_db_prep_save(value, connection)


def _preparer(field: models.Field) -> Callable | None:
    if isinstance(field, _PASSED_AS_IS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _insert(model: type[models.Model], fields: list[models.Field], batch: list[list]) -> int:
    if not batch:
        return 0
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
                       f"VALUES {', '.join([placeholders] * len(batch))}",
                       [value for values in batch for value in values])
    return len(batch)
