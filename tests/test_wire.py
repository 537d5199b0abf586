"""The relay receives exactly the bytes the stdlib generator would write (approvals.delivery.wire)."""

import string
from email.policy import compat32
from email.utils import formataddr

from django.core.mail import EmailMultiAlternatives
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.delivery.wire import WIRE_POLICY, message_bytes, mime_bytes

STDLIB = compat32.clone(linesep="\r\n")

# Header names and values around the 78-character fold limit, plain and not.
names = st.sampled_from(["Subject", "To", "From", "Message-ID", "X-MailGuard-Campaign", "List-Unsubscribe",
                         "Content-Type", "X-A-Rather-Long-Header-Name-For-Folding"])
printable_words = st.lists(st.text(alphabet=string.printable[:94], min_size=1, max_size=30), min_size=1, max_size=8)
any_text = st.text(alphabet=st.sampled_from(list(string.printable) + ["山", "田", "ｶ", "\u3000", "\x85"]),
                   max_size=120)


@settings(max_examples=400, deadline=None)
@given(name=names, words=printable_words)
def test_plain_headers_fold_exactly_as_the_stdlib_folds_them(name, words):
    value = " ".join(words)
    assert WIRE_POLICY.fold_binary(name, value) == STDLIB.fold_binary(name, value)


@settings(max_examples=400, deadline=None)
@given(name=names, value=any_text)
def test_any_other_header_is_left_to_the_stdlib(name, value):
    try:
        expected = STDLIB.fold_binary(name, value)
    except Exception as err:  # noqa: BLE001 - whatever the stdlib raises, the wire policy raises too
        try:
            WIRE_POLICY.fold_binary(name, value)
        except type(err):
            return
        raise AssertionError(f"the stdlib raised {err!r} for {value!r}, the wire policy did not") from None
    assert WIRE_POLICY.fold_binary(name, value) == expected


family = st.sampled_from(["山田", "佐藤", "髙橋", "ﾔﾏﾀﾞ", "O'Brien", "Smith, Jr.", "渡辺"])
subject_text = st.text(alphabet=st.sampled_from(list("会報のお知らせ様 abcXYZ0123-:;,.\"'()[]") + ["\u3000"]),
                       min_size=1, max_size=150)


@settings(max_examples=150, deadline=None)
@given(name=family, subject=subject_text, body=st.text(max_size=300).filter(lambda t: "\r" not in t),
       html=st.booleans(), attach=st.sampled_from(["", "会報 12月号.pdf", "report.csv", "a" * 90 + ".txt"]))
def test_whole_messages_are_byte_for_byte_the_stdlib_output(name, subject, body, html, attach):
    email = EmailMultiAlternatives(
        subject=subject.strip() or "件名", body=body, from_email="市役所 広報課 <koho@city.example.jp>",
        to=[formataddr((f"{name} 様", "member1@example.com"))],
        headers={"Message-ID": "<0123456789abcdef@city.example.jp>", "X-MailGuard-Campaign": "7"})
    if html:
        email.attach_alternative(f"<p>{body}</p>", "text/html")
    if attach:
        email.attach(attach, b"%PDF-1.4 data\n.\n", "application/pdf")
    mime = email.message()
    assert mime_bytes(mime) == mime.as_bytes(linesep="\r\n")


def test_a_django_message_is_serialised_with_crlf_line_ends():
    email = EmailMultiAlternatives("件名", "本文\n二行目", "koho@city.example.jp", ["a@example.com"])
    wire = message_bytes(email)
    assert b"\r\nSubject: =?utf-8?b?" in wire
    assert wire.endswith("本文\r\n二行目".encode())
