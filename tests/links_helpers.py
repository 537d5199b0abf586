"""Building link and newsletter campaigns through the real workflow, and reading links out of sent mail."""

import re
from urllib.parse import urlsplit

from approvals import workflow
from tests.factories import approve_after_review, draft_campaign
from tests.samples import NEWSLETTER_PDF

DOWNLOAD_URL = re.compile(r"https?://[^\s\"<>]+/files/[^\s\"<>/]+/")
UNSUBSCRIBE_URL = re.compile(r"https?://[^\s\"<>]+/unsubscribe/[^\s\"<>/]+/")
PDF = NEWSLETTER_PDF


def campaign_with(drafter, sender, rows, *, links: bool = True, newsletter: bool = False,
                  files=(("kaiho-11.pdf", PDF, "application/pdf"),), **kwargs):
    """A draft whose files go as links (or attached) and that is a newsletter (or a notice)."""
    campaign = draft_campaign(drafter, sender, rows, attachments=files, **kwargs)
    workflow.update_message(campaign, drafter, attachment_delivery="links" if links else "attach",
                            kind="newsletter" if newsletter else "notice")
    campaign.refresh_from_db()
    return campaign


def approved_with(drafter, reviewer, sender, rows, **kwargs):
    campaign = campaign_with(drafter, sender, rows, **kwargs)
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    return approve_after_review(campaign, reviewer)


def paths(pattern: re.Pattern, text: str) -> list[str]:
    """The paths of the links in text, in order (the host is the configured public base URL)."""
    return [urlsplit(url).path for url in pattern.findall(text or "")]


def download_paths(text: str) -> list[str]:
    return paths(DOWNLOAD_URL, text)


def unsubscribe_path(text: str) -> str:
    [path] = set(paths(UNSUBSCRIBE_URL, text))
    return path
