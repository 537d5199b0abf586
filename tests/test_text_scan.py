"""Addresses in untrusted text: the same matches as the regular expression, in linear time."""

import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals.guards.address_index import EMAIL
from approvals.text_scan import ADDRESS, AddressPattern

TEXT = st.text(alphabet=st.sampled_from("ab1.-_+'@%40 xy.z\n"), max_size=200)
UNBOUNDED = re.compile(r"[a-z0-9._+'-]+(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)+")  # before the local part was bounded


@hypothesis_settings(max_examples=1000, deadline=None)
@given(TEXT)
def test_the_scanner_finds_exactly_what_the_expression_finds(text):
    assert [m.span() for m in AddressPattern().finditer(text)] == [m.span() for m in ADDRESS.finditer(text)]


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab1._+'-", min_size=1, max_size=64),
                          st.sampled_from(["@", "%40"]), st.sampled_from(["example.com", "city.example.jp"]),
                          st.sampled_from([" ", "\n", "、", "<", ">"])), max_size=6))
def test_addresses_with_a_valid_local_part_are_found_as_before(parts):
    text = "".join(local + at + domain + gap for local, at, domain, gap in parts)
    assert [m.group() for m in EMAIL.finditer(text)] == [m.group() for m in UNBOUNDED.finditer(text)]


@pytest.mark.parametrize("text", [
    "a" * 2_000_000, "a" * 2_000_000 + "@", "@" * 1_000_000, "a@" * 500_000, "a%40" * 400_000,
    ("a" * 100 + "@b") * 10_000, "x@" + "b" * 2_000_000,
])
def test_long_runs_are_scanned_without_rereading(text):
    """No timing is asserted (bench/adversarial.py prints figures); unbounded, these took hours."""
    list(EMAIL.finditer(text))
