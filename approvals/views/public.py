"""The pages recipients reach from a message, without an account: a download link, an unsubscribe link.

No sign-in, so the signed token decides which recipient row is meant and
nothing on these pages shows that row's address or list data. Every answer is
``no-store`` and ``noindex``; the unsubscribe POST is CSRF-exempt because RFC 8058
has the mailbox provider send it without cookies or a page.
"""

import io
from functools import wraps

from django.http import FileResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .. import downloads, unsubscribe
from ..forms import AddressForm

NOT_VALID = gettext_lazy("This link is not valid. Check that you copied the whole address.")
DOWNLOAD_REFUSALS = {
    downloads.Refusal.NOT_FOUND: (404, NOT_VALID),
    downloads.Refusal.PROOF: (403, gettext_lazy("This is a proof copy: its links do not download anything.")),
    downloads.Refusal.NOT_SENT: (403, gettext_lazy("This link is not active.")),
    downloads.Refusal.EXPIRED: (410, gettext_lazy("This link has expired. Ask the sender to send the file again.")),
    downloads.Refusal.STOPPED: (410, gettext_lazy("The sender has stopped the downloads for this message.")),
    downloads.Refusal.GONE: (410, gettext_lazy("The file is no longer available.")),
    downloads.Refusal.LOCKED: (429, gettext_lazy("Too many wrong addresses were entered. Try again later.")),
}
UNSUBSCRIBE_REFUSALS = {
    unsubscribe.Refusal.NOT_FOUND: (404, NOT_VALID),
    unsubscribe.Refusal.PROOF: (403, gettext_lazy("This is a proof copy: nothing was changed.")),
    unsubscribe.Refusal.GONE: (410, gettext_lazy("This link no longer works. Reply to the message to unsubscribe.")),
}


def public_page(view):
    """Never cached, never indexed: each answer belongs to one recipient's link."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        # The token is in the URL; the site's "same-origin" referrer policy keeps it from other sites.
        # (Not "no-referrer": browsers then send "Origin: null" and the download form fails CSRF.)
        return response

    return wrapper


def _refused(request, table: dict, refusal):
    status, message = table[refusal]
    return render(request, "approvals/public/refused.html", {"message": message}, status=status)


@public_page
@require_http_methods(["GET", "POST"])
def download(request, token: str):
    try:
        link = downloads.open_link(token)
    except downloads.LinkRefused as refused:
        return _refused(request, DOWNLOAD_REFUSALS, refused.refusal)
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = downloads.confirm(link, form.cleaned_data["address"])
            if data is not None:
                return _file(link, data)
        except downloads.LinkRefused as refused:
            return _refused(request, DOWNLOAD_REFUSALS, refused.refusal)
        form.add_error("address", _("This is not the address the message was sent to. Enter the address at "
                                    "which you received the message."))
    return render(request, "approvals/public/download.html", {"link": link, "form": form})


def _file(link: downloads.DownloadLink, data: bytes) -> FileResponse:
    """A forced download: never shown inline, never sniffed into something runnable, never cached."""
    response = FileResponse(io.BytesIO(data), as_attachment=True,
                            filename=link.attachment.filename, content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@public_page
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request, token: str):
    try:
        recipient = unsubscribe.recipient_for(token)
    except unsubscribe.UnsubscribeRefused as refused:
        return _refused(request, UNSUBSCRIBE_REFUSALS, refused.refusal)
    sender = recipient.campaign.sender
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        unsubscribe.unsubscribe(recipient)
        return render(request, "approvals/public/unsubscribed.html", {"sender": sender})
    # A GET (or a link checker's POST without RFC 8058's "List-Unsubscribe=One-Click") changes nothing.
    return render(request, "approvals/public/unsubscribe.html", {"sender": sender},
                  status=400 if request.method == "POST" else 200)
