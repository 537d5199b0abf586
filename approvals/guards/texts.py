"""What each finding says, in the reader's language: the one place that maps a code to its sentence.

Findings are stored as a code and parameters (``findings.Finding``); the sentence
is written here, when a page is drawn, with ``gettext``/``ngettext`` in whatever
language the reader's browser asked for. A reviewer reading English sees English
findings about a campaign a Japanese drafter submitted, and the other way round.
Findings stored before this existed carry their sentence as text: ``display``
shows that text as it was.
"""

from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from .. import trial_mode
from ..intake.attachments import render_reason
from ..models import OrganisationRule
from .findings import EXAMPLES_IN_TEXT, finding_key, row_summary

Render = Callable[[dict], str]
_TEXTS: dict[str, Render] = {}
_COLUMNS: dict[str, Callable[[], list[str]]] = {}


def text(code: str, columns: Callable[[], list[str]] | None = None):
    def register(render: Render) -> Render:
        _TEXTS[code] = render
        if columns is not None:
            _COLUMNS[code] = columns
        return render

    return register


def render(code: str, params: dict, rows=()) -> str:
    """The sentence for a finding's code, parameters and rows, in the current language."""
    writer = _TEXTS.get(code) or _TEXTS.get(_family(code))
    if writer is None:
        return code
    try:
        return writer({**params, "_rows": list(rows)})
    except (KeyError, TypeError, ValueError, IndexError):
        return code  # parameters from another version of the code: the code still says what it is


def _family(code: str) -> str:
    """Codes made per object ("org_rule.block.7": one per organisation rule) share one sentence."""
    return "org_rule" if code.startswith("org_rule.") else code


def item_columns(code: str) -> list[str]:
    columns = _COLUMNS.get(code)
    return columns() if columns else [_("Row")]


def title(code: str, params: dict) -> str:
    """A few words naming a finding, for the reviewer's tick box (the finding itself says the rest)."""
    writer = _TITLES.get(code) or _TITLES.get(_family(code))
    count = params.get("count", 1) if isinstance(params.get("count", 1), int) else 1
    if writer is None:
        return code
    return writer(count) % {"count": count, "name": params.get("name", ""), "column": params.get("column", "")}


def display(stored: dict) -> dict:
    """A stored finding (dict) as a page shows it: its sentence in the current language."""
    if "params" in stored:
        message = render(stored.get("code", ""), stored.get("params") or {}, stored.get("rows") or [])
    else:
        message = stored.get("message", "")  # stored as text before findings were stored as codes
    items = stored.get("items") or []
    rows = stored.get("rows") or []
    heading = title(stored.get("code", ""), stored.get("params") or {}) if "params" in stored else message
    return {**stored, "message": message, "title": heading, "item_count": len(items) or len(rows),
            "key": stored.get("key") or finding_key(stored.get("code", ""), rows, stored.get("files") or [])}


def displayed(findings) -> list[dict]:
    """Live ``Finding`` objects or stored dicts, ready for a template."""
    return [display(f.as_dict() if hasattr(f, "as_dict") else f) for f in findings]


def _more(p: dict, shown: int | None = None) -> str:
    shown = len(p.get("examples") or []) if shown is None else shown
    return "; …" if p.get("count", 0) > shown else ""


def _examples(p: dict, line: Callable[[list], str]) -> str:
    return "; ".join(line(item) for item in (p.get("examples") or [])[:EXAMPLES_IN_TEXT]) + _more(p)


def _rows_of(p: dict) -> str:
    return row_summary(p.get("_rows") or [])


# --- Sender and mode ------------------------------------------------------------------

text("sender.missing")(lambda p: _("Choose a sender from the identities your administrator approved."))
text("sender.free_mail")(lambda p: _(
    "%(address)s is a personal free-mail address; send from your organisation's address.") % p)
text("mode.shared_refused")(lambda p: _(
    "Every recipient would see every other address. Shared mode is only for lists "
    "of at most %(limit)d addresses, all in your organisation's domains; this list "
    "has %(count)d addresses, %(external)d of them outside. Choose “individual”.") % p)
text("mode.shared")(lambda p: _("All %(count)d recipients will see each other's addresses in To.") % p)

# --- The list -------------------------------------------------------------------------

text("list.missing")(lambda p: _("Upload a recipient list and choose its address column."))
text("list.too_large")(lambda p: _(
    "The list has %(count)d rows; at most %(limit)d recipients are allowed per campaign. "
    "Split the list into several campaigns.") % p)


def _row_address() -> list[str]:
    return [_("Row"), _("Address")]


@text("list.invalid_address", _row_address)
def _invalid_address(p):
    examples = _examples(p, lambda e: _("row %(row)d: %(address)s") % {"row": e[0], "address": e[1]})
    return ngettext("%(count)d row has an address that is not a valid email address: %(examples)s. "
                    "Correct it in the list and upload it again.",
                    "%(count)d rows have an address that is not a valid email address: %(examples)s. "
                    "Correct them in the list and upload it again.", p["count"]) % {**p, "examples": examples}


@text("list.address_normalised", lambda: [_("Row"), _("As typed"), _("Sent to")])
def _address_normalised(p):
    examples = _examples(p, lambda e: _("row %(row)d: “%(typed)s” is sent to %(sent)s")
                         % {"row": e[0], "typed": e[1], "sent": e[2]})
    return ngettext("%(count)d address is sent in a slightly different form than typed (full-width "
                    "characters or spaces around it): %(examples)s. The list keeps what was typed.",
                    "%(count)d addresses are sent in a slightly different form than typed (full-width "
                    "characters or spaces around them): %(examples)s. The list keeps what was typed.",
                    p["count"]) % {**p, "examples": examples}


def _groups() -> list[str]:
    return [_("Rows"), _("Address"), _("Names")]


def _group_line(e) -> str:
    return _("rows %(rows)s: %(addresses)s") % {"rows": e[0], "addresses": e[1]}


@text("list.duplicate_address", _groups)
def _duplicate_address(p):
    return ngettext(
        "%(count)d address appears in more than one row (capital letters and the Punycode form of "
        "a domain do not make an address different): %(groups)s. Each row is sent its own message, so "
        "this person would get the mail twice, possibly under two different names. Keep one row per "
        "address, delete the others and upload the list again.",
        "%(count)d addresses appear in more than one row (capital letters and the Punycode form of "
        "a domain do not make an address different): %(groups)s. Each row is sent its own message, so "
        "these people would get the mail twice, possibly under two different names. Keep one row per "
        "address, delete the others and upload the list again.", p["count"]) % {
        **p, "groups": _examples(p, _group_line)}


@text("list.duplicate_mailbox", _groups)
def _duplicate_mailbox(p):
    return ngettext(
        "%(count)d Gmail mailbox appears in more than one row, written differently (Gmail ignores "
        "dots and anything after “+” before the @): %(groups)s. This person would get the mail twice. "
        "Keep one row per mailbox, delete the others and upload the list again.",
        "%(count)d Gmail mailboxes appear in more than one row, written differently (Gmail ignores "
        "dots and anything after “+” before the @): %(groups)s. These people would get the mail twice. "
        "Keep one row per mailbox, delete the others and upload the list again.", p["count"]) % {
        **p, "groups": _examples(p, _group_line)}


@text("list.shared_address", _groups)
def _shared_address(p):
    examples = _examples(p, lambda e: _("rows %(rows)s: %(address)s (%(names)s)")
                         % {"rows": e[0], "address": e[1], "names": e[2]})
    return ngettext(
        "%(count)d address is shared by people of one family: %(examples)s. The mailbox receives one "
        "message per row, each greeting another person. Make sure that is meant.",
        "%(count)d addresses are shared by people of one family: %(examples)s. Each mailbox receives one "
        "message per row, each greeting another person. Make sure that is meant.", p["count"]) % {
        **p, "examples": examples}


def _suppression_reason(code: str) -> str:
    from ..models import Suppression

    return str(dict(Suppression.Reason.choices).get(code, code))


@text("list.suppressed", _row_address)
def _suppressed(p):
    examples = ", ".join(e[1] for e in p["examples"]) + (" …" if p["count"] > len(p["examples"]) else "")
    return ngettext("%(count)d address must not be mailed — %(reason)s (%(examples)s). "
                    "Remove it from the list and upload the list again.",
                    "%(count)d addresses must not be mailed — %(reason)s (%(examples)s). "
                    "Remove them from the list and upload the list again.", p["count"]) % {
        **p, "reason": _suppression_reason(p["reason"]), "examples": examples}


@text("list.role_address", _row_address)
def _role_address(p):
    examples = ", ".join(e[1] for e in p["examples"]) + (" …" if p["count"] > len(p["examples"]) else "")
    return ngettext("%(count)d address looks like a shared or list address (%(examples)s). Mail "
                    "to it usually reaches several people, who may not all be meant to read it. Make sure "
                    "everyone behind it may see this message, or remove it from the list.",
                    "%(count)d addresses look like shared or list addresses (%(examples)s). Mail "
                    "to them usually reaches several people, who may not all be meant to read it. Make sure "
                    "everyone behind these addresses may see this message, or remove them from the list.",
                    p["count"]) % {**p, "examples": examples}


text("list.internal_external")(lambda p: _(
    "Recipients inside your organisation: %(internal)d; outside: %(external)d, at %(domains)d "
    "domains. Most common outside domains: %(top)s.") % {
    **p, "top": ", ".join(f"{domain} ({count})" for domain, count in p["top"]) or "—"})


@text("list.missing_value")
def _missing_value(p):
    if p["kind"] == "address":
        message = ngettext("%(count)d row has no address in column “%(column)s” (row %(rows)s). Fill in the "
                           "address or delete the row, and upload the list again.",
                           "%(count)d rows have no address in column “%(column)s” (rows %(rows)s). Fill in the "
                           "addresses or delete the rows, and upload the list again.", p["count"])
    elif p["kind"] == "name":
        message = ngettext("%(count)d row has no name in the display-name column “%(column)s” (row %(rows)s). "
                           "Fill in the name, or choose no display-name column, and upload the list again.",
                           "%(count)d rows have no name in the display-name column “%(column)s” (rows %(rows)s). "
                           "Fill in the names, or choose no display-name column, and upload the list again.",
                           p["count"])
    else:
        message = ngettext("%(count)d row has no value in column “%(column)s”, which the message uses "
                           "(row %(rows)s); its message would have a gap. Fill in the value and upload the list "
                           "again, or take the merge field out of the message.",
                           "%(count)d rows have no value in column “%(column)s”, which the message uses "
                           "(rows %(rows)s); their messages would have a gap. Fill in the values and upload the "
                           "list again, or take the merge field out of the message.", p["count"])
    return message % {**p, "rows": _rows_of(p)}


text("list.unused_columns")(lambda p: _(
    "These columns are uploaded but no merge field uses them: %(columns)s. Drop them so personal data "
    "the message does not need is never stored.") % {"columns": ", ".join(f"“{c}”" for c in p["columns"])})


@text("list.domain_typo", lambda: [_("Rows"), _("Domain"), _("Did you mean")])
def _domain_typo(p):
    examples = _examples(p, lambda e: ngettext(
        "row %(rows)s: %(domain)s — did you mean %(meant)s?", "rows %(rows)s: %(domain)s — did you mean %(meant)s?",
        e[0].count(",") + 1) % {"rows": row_summary(e[0].split(", "), 5), "domain": e[1], "meant": e[2]})
    return _("Some addresses end in a mistyped domain: %(examples)s. Mail to a mistyped domain reaches nobody, "
             "or a stranger who registered it. Correct the addresses in the list and upload it again.") % {
        "examples": examples}


def _how(how: str) -> str:
    return {
        "confusable": _("look-alike letters"),
        "ending": _("mistyped ending"),
        "second_level": _("no such Japanese domain ending"),
        "keystroke": _("one keystroke away"),
    }.get(how, how)


@text("list.lookalike_domain", lambda: [_("Rows"), _("Domain"), _("Looks like"), _("Why")])
def _lookalike_domain(p):
    examples = _examples(p, lambda e: _("rows %(rows)s: %(domain)s looks like %(meant)s (%(how)s)") % {
        "rows": row_summary(e[0].split(", "), 5), "domain": e[1], "meant": e[2], "how": _how(e[3])})
    return ngettext(
        "%(count)d domain of this list is rare here and looks like a domain this list or your organisation "
        "uses: %(examples)s. Mail to a look-alike domain reaches a stranger. Correct the addresses and upload "
        "the list again; if the domain is right, your administrator can allow it.",
        "%(count)d domains of this list are rare here and look like domains this list or your organisation "
        "uses: %(examples)s. Mail to a look-alike domain reaches a stranger. Correct the addresses and upload "
        "the list again; if a domain is right, your administrator can allow it.", p["count"]) % {
        **p, "examples": examples}


def _why_similar(reason: str) -> str:
    return {
        "same_name": _("the same name on both rows"),
        "new_twin": _("one was mailed before, the other never"),
        "crossed_name": _("one address carries the other row's name"),
        "typo": _("the difference looks like a typo"),
    }.get(reason, reason)


@text("list.similar_addresses", lambda: [_("Row"), _("Address"), _("Row"), _("Address"), _("Why")])
def _similar_addresses(p):
    examples = _examples(p, lambda e: _("row %(row1)d %(address1)s ↔ row %(row2)d %(address2)s (%(why)s)") % {
        "row1": e[0], "address1": e[1], "row2": e[2], "address2": e[3], "why": _why_similar(e[4])})
    return ngettext(
        "%(count)d pair of addresses differs by only one or two characters, and more than the spelling "
        "suggests it is one person or a typo: %(examples)s. One of them may reach a stranger. Check the pair "
        "against the source of the list; correct any mistake and upload the list again.",
        "%(count)d pairs of addresses differ by only one or two characters, and more than the spelling "
        "suggests each is one person or a typo: %(examples)s. One of each pair may reach a stranger. Check "
        "each pair against the source of the list; correct any mistake and upload the list again.",
        p["count"]) % {**p, "examples": examples}


def _shift(e) -> str:
    first, last, offset = e
    where = (_("row %(first)d") % {"first": first} if first == last
             else _("rows %(first)d–%(last)d") % {"first": first, "last": last})
    if offset == 1:
        how = _("each name matches the address one row below")
    elif offset == -1:
        how = _("each name matches the address one row above")
    elif offset > 0:
        how = ngettext("each name matches the address %(n)d row below",
                       "each name matches the address %(n)d rows below", offset) % {"n": offset}
    elif offset < 0:
        how = ngettext("each name matches the address %(n)d row above",
                       "each name matches the address %(n)d rows above", -offset) % {"n": -offset}
    else:
        how = _("names match the addresses of other rows")
    return f"{where} ({how})"


@text("list.names_shifted", lambda: [_("First row"), _("Last row"), _("Rows moved")])
def _names_shifted(p):
    return _(
        "Names in column “%(column)s” and the addresses look shifted against each other: %(runs)s. "
        "In %(shifted)d of the %(named)d rows whose name can be told from the addresses, the name belongs "
        "to another row's address, so these people would be greeted with someone else's name. "
        "Check the list where the shift starts (a row inserted or deleted in one column only, or one column "
        "sorted on its own), correct it and upload it again."
    ) % {**p, "runs": "; ".join(_shift(e) for e in p["examples"]) + (" …" if p["runs"] > len(p["examples"]) else "")}


@text("list.display_name_changed", lambda: [_("Row"), _("Sent before as"), _("Now")])
def _display_name_changed(p):
    examples = _examples(p, lambda e: _("row %(row)d: previously sent as %(before)s, now %(now)s")
                         % {"row": e[0], "before": e[1], "now": e[2]})
    return ngettext(
        "%(count)d address was last mailed under a different name: %(examples)s. "
        "A name that changed can mean the names have slipped against the addresses. Check this row; "
        "if the name is wrong, correct the list and upload it again.",
        "%(count)d addresses were last mailed under a different name: %(examples)s. "
        "A name that changed can mean the names have slipped against the addresses. Check these rows; "
        "if the names are wrong, correct the list and upload it again.", p["count"]) % {**p, "examples": examples}


# --- The message ------------------------------------------------------------------------

text("message.no_subject")(lambda p: _("Write a subject."))
text("message.no_body")(lambda p: _("Write the plain-text body."))
text("message.subject_line_break")(lambda p: _("The subject contains a line break. Write the subject on one line."))


def _where(where: str) -> str:
    return {"subject": _("Subject"), "text": _("Plain-text body"), "html": _("HTML body")}.get(where, where)


text("merge.unknown_field")(lambda p: f"{_where(p['where'])}: {p['problem']}")
text("merge.header_injection")(lambda p: _(
    "Rows %(rows)s have a line break in a value that goes into the subject or the recipient's "
    "name. Remove the line breaks in the list and upload it again.") % {"rows": _rows_of(p)})
text("message.list_addresses_in_text", lambda: [_("Row"), _("Address")])(lambda p: _(
    "The message text contains addresses from the list: %(addresses)s%(more)s (%(where)s; rows "
    "%(rows)s). Every recipient would receive them. Remove them from the message; to greet each "
    "person by their own data, use merge fields such as {{column}}.") % {
    "addresses": ", ".join(p["examples"]), "more": " …" if p["count"] > len(p["examples"]) else "",
    "where": ", ".join(_where(w) for w in p["where"]), "rows": _rows_of(p)})


@text("message.list_data_in_text", lambda: [_("Row"), _("Found")])
def _list_data_in_text(p):
    if p.get("pasted"):
        message = _("The message text contains names or numbers of %(count)d recipients of the list (rows "
                    "%(rows)s: %(examples)s). It looks like part of the list was pasted in, and every "
                    "recipient would receive it. Remove it from the message.")
    else:
        message = _("The message text mentions the name or number of a recipient of the list (rows %(rows)s: "
                    "%(examples)s). Every recipient receives this text: make sure it is meant to be public, "
                    "otherwise remove it.")
    return message % {**p, "rows": _rows_of(p), "examples": ", ".join(p["examples"])}


def _leak(count_message: Callable[[int], str], example: str) -> Render:
    def write(p):
        values = {**p, "rows": _rows_of(p)}
        return " ".join((count_message(p["count"]) % values, _(example) % values, _(
            "Each message may carry only its own recipient's data: correct that column in the list and upload "
            "it again, or remove the merge field from the message.")))

    return write


text("message.other_recipient_address")(_leak(lambda n: ngettext(
    "The message to %(count)d recipient contains another recipient's address (row %(rows)s).",
    "The messages to %(count)d recipients contain another recipient's address (rows %(rows)s).", n),
    gettext_noop("For example, the message to row %(row)d contains the address of row %(other)d, through "
    "the merge field {{%(column)s}}.")))
text("message.other_recipient_data")(_leak(lambda n: ngettext(
    "The message to %(count)d recipient contains another recipient's identifying data (row %(rows)s).",
    "The messages to %(count)d recipients contain another recipient's identifying data (rows %(rows)s).", n),
    gettext_noop("For example, the message to row %(row)d contains the “%(what)s” of row %(other)d, through "
    "the merge field {{%(column)s}}.")))
text("message.other_recipient_name")(_leak(lambda n: ngettext(
    "The message to %(count)d recipient contains another recipient's name (row %(rows)s).",
    "The messages to %(count)d recipients contain another recipient's name (rows %(rows)s).", n),
    gettext_noop("For example, the message to row %(row)d contains the name of row %(other)d, through the "
    "merge field {{%(column)s}}.")))
def _listed(p: dict) -> str:
    return ", ".join(p["examples"]) + (" …" if p["count"] > len(p["examples"]) else "")


text("message.phone_number")(lambda p: _(
    "The message text contains phone numbers: %(numbers)s. Every recipient receives them. If "
    "this is your office's contact number, that is fine; if it is a person's number, remove it.") % {
    "numbers": _listed(p)})
text("message.my_number")(lambda p: _(
    "The message text contains a 12-digit number that looks like a My Number (individual "
    "number): %(numbers)s. Every recipient receives it. A My Number must never be sent by mail: "
    "remove it unless it is certainly something else.") % {"numbers": _listed(p)})
text("message.many_addresses")(lambda p: _(
    "The message text contains %(count)d email addresses (%(addresses)s). Every recipient "
    "receives all of them. Keep only contact addresses that are meant to be public.") % {
    **p, "addresses": _listed(p)})
text("message.personal_data_in_field")(lambda p: ngettext(
    "A merge field puts a phone number or My Number-like number into %(count)d message that is not "
    "the recipient's own number (fields: %(columns)s; row %(rows)s).",
    "Merge fields put phone numbers or My Number-like numbers into %(count)d messages that are not "
    "the recipient's own number (fields: %(columns)s; rows %(rows)s).", p["count"]) % {
    **p, "columns": ", ".join(f"{{{{{c}}}}}" for c in p["columns"]), "rows": _rows_of(p)}
    + " " + _("Open these previews and make sure the numbers may be sent to these recipients; "
              "otherwise remove them from the list."))

# --- Attachments ------------------------------------------------------------------------

text("attachment.too_large_together")(lambda p: _(
    "The attachments together are %(size)s MB, more than the limit of %(limit)s MB per campaign. "
    "Remove some, or send a link to the files instead.") % p)
text("attachment.unreadable")(lambda p: _(
    "“%(name)s” could not be read from storage. Remove it and attach it again.") % p)
text("attachment.is_the_list")(lambda p: _(
    "“%(name)s” is the recipient list itself (the same file that was uploaded as the list). "
    "Every recipient would receive everyone's data. Remove it and attach the file you meant "
    "to send.") % p)
text("attachment.refused")(lambda p: _("“%(name)s”: %(reason)s") % {
    "name": p["name"], "reason": render_reason(p["reason"])})
text("attachment.not_inspectable")(lambda p: _(
    "“%(name)s” cannot be inspected: %(reason)s — open it and check it contains no personal data.") % {
    "name": p["name"], "reason": render_reason(p["reason"])})
text("attachment.looks_like_a_list")(lambda p: _(
    "The name “%(name)s” looks like a list (名簿, リスト, 一覧, members…); open it before approving "
    "and make sure it is not a list of people.") % p)
text("attachment.list_addresses")(lambda p: ngettext(
    "“%(name)s” contains %(count)d address of a recipient on the list (row %(rows)s).",
    "“%(name)s” contains %(count)d addresses of recipients on the list (rows %(rows)s).", p["count"]) % {
    **p, "rows": _rows_of(p)} + " " + _(
    "Every recipient would receive them. Remove the file and attach the one you meant to send."))
text("attachment.many_addresses")(lambda p: _(
    "“%(name)s” contains many addresses (%(count)d, e.g. %(examples)s). Every recipient would "
    "receive them. Remove the file, or remove the addresses from it.") % {**p, "examples": ", ".join(p["examples"])})
text("attachment.list_rows")(lambda p: _(
    "“%(name)s” contains %(count)d rows of the recipient list (rows %(rows)s): for each, at least "
    "two of its values, such as name and member number, are in the file. Remove the file and "
    "attach the one you meant to send.") % {**p, "rows": _rows_of(p)})


# --- Links and the sender's domain ------------------------------------------------------------

text("links.shared_mode")(lambda p: _(
    "In shared mode everyone receives one message, so it cannot carry each recipient's own download or "
    "unsubscribe links. Choose “individual”, or attach the files and send a notice."))
text("links.foreign_token")(lambda p: _(
    "The messages for rows %(rows)s carry a download or unsubscribe link that belongs to another "
    "recipient. Remove links pasted into the message or brought in by a list column: MailGuard adds "
    "each recipient's own links itself.") % {"rows": _rows_of(p)})
text("sender.auth_not_checked")(lambda p: _(
    "The SPF, DKIM and DMARC records of %(domain)s were not checked: DNS did not answer. "
    "MailGuard will try again later.") % {"domain": p["domain"]})
text("sender.dmarc_reject_unaligned")(lambda p: _(
    "%(domain)s publishes DMARC p=reject, and the configured transport can align neither DKIM nor SPF "
    "with it: receivers will refuse every message. Ask your administrator to set up DKIM signing for "
    "%(domain)s with the mail service, or choose another sender. (%(problems)s)")
    % {"domain": p["domain"], "problems": "; ".join(p["problems"])})
text("sender.authentication")(lambda p: _(
    "The sender domain %(domain)s does not fully authenticate: %(problems)s. Mail providers may put "
    "these messages in spam or refuse them.") % {"domain": p["domain"], "problems": "; ".join(p["problems"])})

# --- Organisation rules and trial mode ----------------------------------------------------------


def _org_rule(p: dict) -> str:
    if p.get("unusable"):
        return _("The organisation rule “%(rule)s” cannot be used; ask an administrator to correct it.") % p
    where = OrganisationRule.Target(p["target"]).label if p["target"] in OrganisationRule.Target.values else p["target"]
    return _("%(message)s (organisation rule “%(rule)s”: “%(found)s” in %(where)s)") % {**p, "where": where}


text("org_rule")(_org_rule)
text("trial.outside_organisation")(lambda p: trial_mode.explanation(p["_rows"], set(p["domains"])))

# --- Titles: what the reviewer ticks ----------------------------------------------------------

_TITLES: dict[str, Callable[[int], str]] = {
    "mode.shared": lambda n: _("every recipient sees every address in To"),
    "list.shared_address": lambda n: ngettext("%(count)d address shared by one family",
                                              "%(count)d addresses shared by one family", n),
    "list.role_address": lambda n: ngettext("%(count)d shared or list address",
                                            "%(count)d shared or list addresses", n),
    "list.similar_addresses": lambda n: ngettext("%(count)d pair of similar addresses",
                                                 "%(count)d pairs of similar addresses", n),
    "list.names_shifted": lambda n: _("names in column “%(column)s” shifted against the addresses"),
    "list.display_name_changed": lambda n: ngettext("%(count)d name changed since the last send",
                                                    "%(count)d names changed since the last send", n),
    "message.list_data_in_text": lambda n: _("a recipient's name or number in the text everyone receives"),
    "message.phone_number": lambda n: _("phone numbers in the text everyone receives"),
    "message.my_number": lambda n: _("a number like a My Number in the text"),
    "message.many_addresses": lambda n: _("many addresses in the text everyone receives"),
    "message.personal_data_in_field": lambda n: ngettext("%(count)d message with someone else's number",
                                                         "%(count)d messages with someone else's number", n),
    "attachment.not_inspectable": lambda n: _("“%(name)s” could not be read completely"),
    "attachment.looks_like_a_list": lambda n: _("“%(name)s” is named like a list"),
    "sender.authentication": lambda n: _("the sender domain does not fully authenticate"),
    "org_rule": lambda n: _("organisation rule “%(name)s”"),
}
