"""Each message carries only its own recipient's links (incident 12: a rushed apology carried every
member's unsubscribe link).

A message is the drafter's content (the static text of subject and bodies, and the values
merged into it, the name and address included) plus what MailGuard adds for its recipient
(download links, unsubscribe; ``recipient_links.additions_for``, called by ``render_for``). Every
MailGuard token found is read, and one made for another recipient row blocks submission,
unless that row has the same address (a list column holding the same person's link from an
earlier campaign). Per-recipient links in shared mode block too: there one message, rendered
for the first row, goes to everyone.

When the drafter's content holds anything token-shaped (a pasted link, a list column of
links), every message is rendered whole with ``render_for``, the code the worker sends with,
and searched. Otherwise tokens can only come from MailGuard's additions, and only those are
rendered for each recipient (by the same function) and checked: the same answer for a third
of the work, because no token can hide in content that holds nothing token-shaped. Only
tokens whose MAC verifies count, so nothing else in a message can look like one.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator

from .. import merge, recipient_links
from ..models import Campaign, Recipient
from ..rendering import render_for
from .context import PreflightContext, Row
from .findings import Finding, Severity


def messages_carry_only_their_own_links(ctx: PreflightContext) -> Iterator[Finding]:
    campaign = ctx.campaign
    personal = recipient_links.adds_personal_links(campaign)
    if personal and campaign.recipient_mode == Campaign.RecipientMode.SHARED:
        yield _shared_mode_finding()
        return
    if not ctx.rows:
        return
    if _content_may_carry_tokens(ctx):
        foreign = _foreign_tokens(ctx, _tokens_in_message)
    elif personal:
        foreign = _foreign_tokens(ctx, _tokens_in_additions)
    else:
        return
    if not foreign:
        return
    owners = recipient_links.addresses_of({rid for ids in foreign.values() for rid in ids})
    own_address = {row.row_number: _normal(row.email) for row in ctx.rows}
    leaking = sorted(
        number for number, ids in foreign.items()
        if any(_normal(owners.get(rid, "")) != own_address[number] for rid in ids)
    )
    if leaking:
        yield _foreign_links_finding(leaking)


def _content_may_carry_tokens(ctx: PreflightContext) -> bool:
    """Anything token-shaped in the static text or in a value that is merged or goes into To?"""
    campaign = ctx.campaign
    texts = (campaign.subject, campaign.body_text, campaign.body_html)
    if any(recipient_links.may_contain_token(text) for text in texts):
        return True
    used = merge.used_fields(*texts)
    return any(
        recipient_links.may_contain_token(row.email) or recipient_links.may_contain_token(row.display_name)
        or any(recipient_links.may_contain_token(str(row.data.get(column) or "")) for column in used)
        for row in ctx.rows
    )


TokenReader = Callable[[Campaign, Recipient], set[int]]


def _foreign_tokens(ctx: PreflightContext, tokens_of: TokenReader) -> dict[int, set[int]]:
    """Row number -> ids of the other recipient rows whose tokens that row's message carries."""
    campaign = ctx.campaign
    foreign: dict[int, set[int]] = defaultdict(set)
    with recipient_links.files_read_once(campaign, ctx.stored_attachments):
        if campaign.recipient_mode == Campaign.RecipientMode.SHARED:
            # One message, rendered for the first row, is what every recipient receives.
            found = tokens_of(campaign, _recipient(ctx, ctx.rows[0]))
            for row in ctx.rows:
                foreign[row.row_number] |= found - {ctx.recipient_ids[row.row_number]}
        else:
            for row in ctx.rows:
                own = ctx.recipient_ids[row.row_number]
                foreign[row.row_number] |= tokens_of(campaign, _recipient(ctx, row)) - {own}
    return {number: ids for number, ids in foreign.items() if ids}


def _recipient(ctx: PreflightContext, row: Row) -> Recipient:
    return Recipient(pk=ctx.recipient_ids[row.row_number], campaign=ctx.campaign, row_number=row.row_number,
                     email=row.email, display_name=row.display_name, data=row.data)


def _tokens_in_message(campaign: Campaign, recipient: Recipient) -> set[int]:
    """The recipient ids of every token in the whole message as it would be sent."""
    try:
        message = render_for(campaign, recipient)
    except merge.MergeError:
        return set()  # reported by the merge checks
    text = "\n".join([*message.to, *message.cc, message.subject, message.text, message.html,
                      *message.headers.values()])
    return {token.recipient_id for token in recipient_links.tokens_in(text)}


def _tokens_in_additions(campaign: Campaign, recipient: Recipient) -> set[int]:
    """The recipient ids of the tokens in what MailGuard adds to this recipient's message."""
    added = recipient_links.additions_for(campaign, recipient)
    text = "\n".join([added.text, added.html, *added.headers.values()])
    return {token.recipient_id for token in recipient_links.tokens_in(text)}


def _normal(address: str) -> str:
    return address.strip().lower()


def _shared_mode_finding() -> Finding:
    return Finding("links.shared_mode", Severity.BLOCK)


def _foreign_links_finding(rows: list[int]) -> Finding:
    return Finding("links.foreign_token", Severity.BLOCK, {"count": len(rows)}, rows=tuple(rows))
