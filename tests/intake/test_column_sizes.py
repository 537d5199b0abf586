"""A value longer than the database keeps for an address or a name is refused with its row, never a 500.

PostgreSQL refuses a longer value for the address (320 characters) and display-name (300) columns;
SQLite would keep it. Both databases now give the drafter the same message and store nothing.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from approvals import workflow
from tests.factories import csv_bytes, members

pytestmark = pytest.mark.django_db


def upload(page, campaign, rows):
    return page.post(reverse("list_upload", args=[campaign.pk]),
                     {"file": SimpleUploadedFile("members.csv", csv_bytes(rows))}, follow=True)


def shown(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


@pytest.mark.parametrize("length, refused", [(320, False), (321, True), (32_000, True)])
def test_an_address_longer_than_any_address_is_refused_with_its_row(client_for, drafter, length, refused):
    campaign = workflow.create_campaign(drafter, "long address")
    rows = members(3)
    rows[1]["メールアドレス"] = "a" * (length - len("@example.com")) + "@example.com"
    response = upload(client_for(drafter), campaign, rows)
    assert response.status_code == 200
    if refused:
        assert f"Row 3 of the column “メールアドレス” holds {length:,} characters" in shown(response)
        assert "Correct the row in the file and upload it again." in shown(response)
        assert not campaign.recipients.exists()
    else:
        assert sorted(campaign.recipients.values_list("email", flat=True))[0] == rows[1]["メールアドレス"]


def test_a_name_longer_than_a_name_column_keeps_is_refused_with_its_row(client_for, drafter):
    campaign = workflow.create_campaign(drafter, "long name")
    rows = members(4)
    rows[3]["氏名"] = "山" * 301
    response = upload(client_for(drafter), campaign, rows)
    assert "Row 5 of the column “氏名” holds 301 characters, more than a name can have (300)" in shown(response)
    assert not campaign.recipients.exists()


def test_a_column_of_long_notes_cannot_be_chosen_for_addresses_or_names(client_for, drafter):
    campaign = workflow.create_campaign(drafter, "notes")
    rows = [{**row, "備考": "会員の皆様へ" * 60 if n == 1 else "短い"} for n, row in enumerate(members(3))]
    page = client_for(drafter)
    upload(page, campaign, rows)
    before = list(campaign.recipients.order_by("row_number").values_list("email", "display_name"))
    for choice, refusal in (({"address_column": "備考", "name_column": "氏名"}, "used for addresses"),
                            ({"address_column": "メールアドレス", "name_column": "備考"}, "used for names")):
        response = page.post(reverse("columns_choose", args=[campaign.pk]), choice, follow=True)
        assert response.status_code == 200
        assert "Row 3 of the column “備考” holds 360 characters" in shown(response) and refusal in shown(response)
        assert "Choose another column" in shown(response)
        campaign.refresh_from_db()
        assert (campaign.address_column, campaign.name_column) == ("メールアドレス", "氏名")
        assert list(campaign.recipients.order_by("row_number").values_list("email", "display_name")) == before


def test_one_column_for_both_address_and_name_keeps_the_shorter_limit(client_for, drafter):
    campaign = workflow.create_campaign(drafter, "both")
    rows = members(2)
    page = client_for(drafter)
    upload(page, campaign, rows)
    campaign.refresh_from_db()
    workflow.choose_columns(campaign, drafter, "メールアドレス", "メールアドレス")  # short enough for both
    rows[0]["メールアドレス"] = "a" * 298 + "@example.com"  # 310: an address may be this long, a name not
    upload(page, campaign, rows)
    response = page.post(reverse("columns_choose", args=[campaign.pk]),
                         {"address_column": "メールアドレス", "name_column": "メールアドレス"}, follow=True)
    assert ("Row 2 of the column “メールアドレス” holds 310 characters, more than a name can have (300)"
            in shown(response))


def test_the_refusal_is_in_japanese_for_a_japanese_browser(drafter):
    from django.test import Client

    campaign = workflow.create_campaign(drafter, "日本語")
    rows = members(2)
    rows[0]["メールアドレス"] = "a" * 400 + "@example.jp"
    page = Client(headers={"accept-language": "ja"})
    page.force_login(drafter)
    response = upload(page, campaign, rows)
    assert ("列「メールアドレス」の 2 行目は 411 文字あり、メールアドレスの上限（320 文字）を超えているため、"
            "この列は宛先に使えません。ファイルのその行を直して、もう一度アップロードしてください。") in shown(response)
