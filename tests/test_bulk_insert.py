"""approvals.bulk_insert: rows written with multi-row INSERTs read back exactly as the ORM writes them."""

import pytest

from approvals import workflow
from approvals.bulk_insert import ROWS_PER_INSERT, insert_rows
from approvals.models import Recipient

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
