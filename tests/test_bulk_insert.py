"""approvals.bulk_insert: rows written with multi-row INSERTs read back exactly as the ORM writes them."""

import json

import pytest

from approvals import workflow
from approvals.bulk_insert import ROWS_PER_INSERT, insert_rows
from approvals.models import Recipient, UnescapedJSONEncoder

pytestmark = pytest.mark.django_db

# What people type into spreadsheets, and what a SQL string or a JSON encoder could trip on.
AWKWARD = ["山田 太郎", "髙橋　一郎", "O'Brien", 'say "hi"', "back\\slash", "%s %(x)s ?", "tab\there",
           "line\nbreak", "emoji 🙂", "", " spaces around ", "ｶﾀｶﾅ", "①②", "null", "{\"json\": 1}"]


def test_rows_read_back_exactly_as_the_orm_writes_them_across_statements(drafter):
    campaign = workflow.create_campaign(drafter, "bulk")
    other = workflow.create_campaign(drafter, "orm")
    count = ROWS_PER_INSERT * 2 + 7  # three statements, the last one short
    rows = [(n + 2, f"m{n}@example.jp", AWKWARD[n % len(AWKWARD)],
             {"氏名": AWKWARD[n % len(AWKWARD)], "備考": AWKWARD[(n + 3) % len(AWKWARD)], "番号": str(n)})
            for n in range(count)]
    assert insert_rows(Recipient, ("row_number", "email", "display_name", "data"), rows, campaign=campaign.pk) == count
    Recipient.objects.bulk_create(Recipient(campaign=other, row_number=r, email=e, display_name=d, data=data)
                                  for r, e, d, data in rows)

    def stored(c):
        return list(c.recipients.order_by("row_number").values_list("row_number", "email", "display_name", "data"))

    assert stored(campaign) == stored(other) == [tuple(row) for row in rows]


def test_nothing_to_insert_writes_nothing(drafter):
    campaign = workflow.create_campaign(drafter, "empty")
    assert insert_rows(Recipient, ("row_number", "email", "display_name", "data"), [], campaign=campaign.pk) == 0
    assert not campaign.recipients.exists()


def test_a_row_of_the_wrong_length_is_refused_before_anything_is_written(drafter):
    campaign = workflow.create_campaign(drafter, "short")
    with pytest.raises(ValueError):
        insert_rows(Recipient, ("row_number", "email", "display_name", "data"), [(2, "a@example.jp", "")],
                    campaign=campaign.pk)
    assert not campaign.recipients.exists()


def test_a_callable_default_is_called_for_every_row_as_for_every_instance(drafter, monkeypatch):
    campaign = workflow.create_campaign(drafter, "defaults")
    field = Recipient._meta.get_field("display_name")
    tokens = iter(range(10_000))
    token = lambda: f"token-{next(tokens)}"  # noqa: E731
    monkeypatch.setattr(field, "default", token)
    monkeypatch.setattr(field, "_get_default", token)  # Field caches what get_default() calls
    insert_rows(Recipient, ("row_number", "email"), [(n, f"m{n}@example.jp") for n in range(2, 7)],
                campaign=campaign.pk)
    names = list(campaign.recipients.values_list("display_name", flat=True))
    assert len(set(names)) == 5 and all(name.startswith("token-") for name in names)
    assert list(campaign.recipients.values_list("data", flat=True)) == [{}] * 5  # default=dict, per row


def test_values_of_another_type_are_stored_as_the_orm_stores_them(drafter):
    campaign = workflow.create_campaign(drafter, "types")
    other = workflow.create_campaign(drafter, "orm")
    rows = [(2.0, True, 1e20, {"a": 1}), (3, 12345, None, {})]
    insert_rows(Recipient, ("row_number", "email", "display_name", "data"),
                [(r, e, d if d is not None else "", data) for r, e, d, data in rows], campaign=campaign.pk)
    Recipient.objects.bulk_create(Recipient(campaign=other, row_number=r, email=e, display_name=d if d is not None
                                            else "", data=data) for r, e, d, data in rows)

    def stored(c):
        return list(c.recipients.order_by("row_number").values_list("row_number", "email", "display_name", "data"))

    assert stored(campaign) == stored(other)
    assert stored(campaign)[0][:3] == (2, "True", "1e+20")


def test_unknown_and_automatic_fields_are_refused(drafter):
    from django.utils import timezone

    from approvals.models import Delivery

    campaign = workflow.create_campaign(drafter, "names")
    with pytest.raises(ValueError, match="no insertable fields"):
        insert_rows(Recipient, ("row_number", "emial"), [(2, "a@example.jp")], campaign=campaign.pk)
    with pytest.raises(ValueError, match="no insertable fields"):
        insert_rows(Recipient, ("row_number",), [(2,)], campagin=campaign.pk)
    with pytest.raises(ValueError, match="time of the insert"):
        insert_rows(Delivery, ("email",), [("a@example.jp",)], campaign=campaign.pk, updated_at=timezone.now())


def test_statements_stay_within_the_databases_parameter_limit(drafter, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = workflow.create_campaign(drafter, "limit")
    monkeypatch.setattr(connection.features, "max_query_params", 12)  # 5 columns: 2 rows per statement
    with CaptureQueriesContext(connection) as queries:
        insert_rows(Recipient, ("row_number", "email"), [(n, f"m{n}@example.jp") for n in range(2, 7)],
                    campaign=campaign.pk)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    assert campaign.recipients.count() == 5


def test_list_rows_are_stored_as_typed_not_as_escapes_and_a_lone_surrogate_stays_escaped(drafter):
    """Kanji are stored as themselves (half the size of \\uXXXX escapes); what UTF-8 cannot hold stays escaped."""
    assert json.dumps({"氏名": "山田 太郎"}, cls=UnescapedJSONEncoder) == '{"氏名": "山田 太郎"}'
    lone = {"氏名": "山田\ud800", "\udfff": "x"}
    assert json.dumps(lone, cls=UnescapedJSONEncoder) == '{"氏名": "山田\\ud800", "\\udfff": "x"}'
    assert json.loads(json.dumps(lone, cls=UnescapedJSONEncoder)) == lone
    campaign = workflow.create_campaign(drafter, "kanji")
    insert_rows(Recipient, ("row_number", "email", "display_name", "data"),
                [(2, "a@example.jp", "山田", {"氏名": "山田 太郎", "備考": "髙橋﨑子 ①"})], campaign=campaign.pk)
    assert campaign.recipients.get().data == {"氏名": "山田 太郎", "備考": "髙橋﨑子 ①"}


def test_json_is_written_as_the_same_text_the_field_writes(drafter):
    """One encoder for all rows: the stored JSON text is byte for byte what the ORM stores."""
    from django.db import connection

    campaign = workflow.create_campaign(drafter, "bulk")
    other = workflow.create_campaign(drafter, "orm")
    data = [{"氏名": name, "備考": AWKWARD[(n + 5) % len(AWKWARD)], "空": ""} for n, name in enumerate(AWKWARD)]
    data += [{}, {"入れ子": ["a", 1, None, 2.5, {"b": True}]}]
    insert_rows(Recipient, ("row_number", "data"), [(n, value) for n, value in enumerate(data)], campaign=campaign.pk)
    Recipient.objects.bulk_create(Recipient(campaign=other, row_number=n, data=value) for n, value in enumerate(data))
    as_text = "data::text" if connection.vendor == "postgresql" else "data"

    def stored(c):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {as_text} FROM approvals_recipient WHERE campaign_id = %s ORDER BY row_number",
                           [c.pk])
            return [text for (text,) in cursor.fetchall()]

    assert stored(campaign) == stored(other)
    assert len(stored(campaign)) == len(data)
    assert "山田 太郎" in stored(campaign)[0]  # as typed, not escaped
