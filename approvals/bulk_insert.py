"""Many rows of one model in a few multi-row INSERTs: lists of 200,000 recipients, ledgers of as many deliveries.

``bulk_create`` builds and prepares a model instance for every row; at these sizes that
is most of the time spent (200,000 recipients: about 4 of 7 seconds). Here each row is a
tuple of the fields given, every other column gets its default, and only what needs it is
prepared row by row: a str for a text column and an int for an integer column go to the
driver as they are, anything else (JSON, dates, a value of another type) through the
field, as ``bulk_create`` would. Like ``bulk_create``, no ``save()`` and no signals run.
"""

import json
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

# Rows per INSERT, unless the database allows fewer parameters (SQLite before 3.32: 999).
ROWS_PER_INSERT = 1000

# What the database driver takes as it is, per kind of field.
_RAW_TYPES = ((models.CharField, str), (models.TextField, str), (models.IntegerField, int), (models.ForeignKey, int))


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence], **fixed) -> int:
    """Insert one row per tuple of ``rows`` (values of the fields ``names``, in order); returns the count.

    ``fixed`` gives the same value to a field in every row (a foreign key as its id, ``campaign=3``).
    Columns the database fills itself (generated, or with a database default) are left to it.
    """
    fields = [field for field in model._meta.concrete_fields
              if not field.primary_key and not field.generated
              and (field.db_default is NOT_PROVIDED or field.name in fixed or field.name in names)]
    by_name = {field.name: field for field in fields}
    unknown = (set(names) | set(fixed)) - set(by_name)
    if unknown:
        raise ValueError(f"{model.__name__} has no insertable fields {sorted(unknown)}")
    automatic = [name for name in (*names, *fixed) if _is_automatic(by_name[name])]
    if automatic:
        raise ValueError(f"{sorted(automatic)} are set to the time of the insert, as save() sets them")
    # A field given in every row needs no default (preparing one cost as much as the value: a JSON dict).
    per_row = [None if field.name in names else _per_row_default(field) for field in fields]
    template = [None if per_row[i] else _prepared(field, fixed[field.name] if field.name in fixed
                                                   else _default(field)) for i, field in enumerate(fields)]
    per_row_defaults = any(per_row)
    slots = [fields.index(by_name[name]) for name in names]
    preparers = [_preparer(by_name[name]) for name in names]
    limit = _rows_per_insert(len(fields))
    count, batch = 0, []
    for row in rows:
        values = ([value if make is None else make() for value, make in zip(template, per_row, strict=True)]
                  if per_row_defaults else template.copy())
        for slot, prepare, value in zip(slots, preparers, row, strict=True):
            values[slot] = prepare(value)
        batch.append(values)
        if len(batch) >= limit:
            count += _insert(model, fields, batch)
            batch.clear()
    return count + _insert(model, fields, batch)


def _is_automatic(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _default(field: models.Field):
    return timezone.now() if _is_automatic(field) else field.get_default()  # now: what save() would set


def _per_row_default(field: models.Field) -> Callable | None:
    """A default that is a callable (a token, a UUID) is called for every row, as for every instance."""
    if field.has_default() and callable(field.default):
        return lambda: _prepared(field, field.get_default())
    return None


def _prepared(field: models.Field, value):
    return field.get_db_prep_save(value, connection)


def _preparer(field: models.Field) -> Callable:
    if type(field) is models.JSONField:  # a subclass may prepare values its own way
        return _json_preparer(field)
    raw = next((kind for field_class, kind in _RAW_TYPES if isinstance(field, field_class)), None)

    def prepare(value):
        return value if raw is not None and type(value) is raw else _prepared(field, value)

    return prepare


def _json_preparer(field: models.JSONField) -> Callable:
    """A dict as the field would send it, with one encoder for every row.

    ``json.dumps(value, cls=...)``, which the field calls, builds a new encoder for each value:
    for the 200,000 rows of a list that was half the time spent preparing them. An encoder keeps
    nothing between calls, so one instance writes exactly the same text.
    """
    encode = (field.encoder or json.JSONEncoder)().encode
    if connection.vendor == "sqlite":  # JSON is stored as its text
        return lambda value: encode(value) if type(value) is dict else _prepared(field, value)
    if connection.vendor == "postgresql":  # what adapt_json_value gives, with the one encoder
        from psycopg.types.json import Jsonb

        return lambda value: Jsonb(value, dumps=encode) if type(value) is dict else _prepared(field, value)
    return lambda value: _prepared(field, value)


def _rows_per_insert(columns: int) -> int:
    most = connection.features.max_query_params
    return max(1, min(ROWS_PER_INSERT, most // columns)) if most else ROWS_PER_INSERT


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
