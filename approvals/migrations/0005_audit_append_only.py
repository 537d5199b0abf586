"""The audit log is append-only in the database too: on PostgreSQL a trigger refuses UPDATE and DELETE.

SQLite has no such trigger here; there the hash chain (approvals.audit.verify_chain)
still detects a changed or removed event. TRUNCATE is not refused (the test
runner empties tables with it), and a table owner can disable the trigger: run
the application with a database role that does not own the tables for a hard guarantee.
"""

from django.db import migrations

FUNCTION = "approvals_auditevent_refuse_change"
TRIGGER = "approvals_auditevent_append_only"

CREATE_SQL = [
    f"""
    CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'approvals_auditevent is append-only: % refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON approvals_auditevent",
    f"""
    CREATE TRIGGER {TRIGGER}
        BEFORE UPDATE OR DELETE ON approvals_auditevent
        FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()
    """,
]

DROP_SQL = [
    f"DROP TRIGGER IF EXISTS {TRIGGER} ON approvals_auditevent",
    f"DROP FUNCTION IF EXISTS {FUNCTION}()",
]


def _execute_on_postgresql(schema_editor, statements: list[str]) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in statements:
        # No parameters: the "%" in RAISE is PL/pgSQL's, not a placeholder.
        schema_editor.execute(sql, params=None)


def create_trigger(apps, schema_editor):
    _execute_on_postgresql(schema_editor, CREATE_SQL)


def drop_trigger(apps, schema_editor):
    _execute_on_postgresql(schema_editor, DROP_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0004_delivery_tracking_and_rate"),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
    ]
