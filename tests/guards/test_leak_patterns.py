"""The phone and My Number patterns of the leak check: the fast forms find exactly what the plain ones do.

The patterns in approvals.guards.leaks are written so the regex engine can skip ahead
(their "no digit before" test comes after the first character). The plain forms below
are the rule as a person reads it; any text must give the same matches with both.
"""

import re

from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals.guards.leaks import MY_NUMBER, PHONE

PLAIN_PHONE = re.compile(
    r"(?<![0-9+])(?:"
    r"0[789]0[- ]?[0-9]{4}[- ]?[0-9]{4}"
    r"|0[0-9][- ][0-9]{4}[- ][0-9]{4}"
    r"|0[0-9]{2}[- ][0-9]{3}[- ][0-9]{4}"
    r"|0[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}"
    r"|0[0-9]{1,3}\([0-9]{1,4}\)[0-9]{4}"
    r"|0[0-9]{9}"
    r"|\+81[- ]?(?:\(0\))?[0-9]{1,4}[- ]?[0-9]{1,4}[- ]?[0-9]{4}"
    r")(?![0-9])"
)
PLAIN_MY_NUMBER = re.compile(r"(?<![0-9])[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])")

# Digits, the separators the patterns know, and a few letters around them.
TEXT = st.text(alphabet=st.sampled_from(list("0123456789+-() 81電話様a")), max_size=60)


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


@hypothesis_settings(max_examples=3000, deadline=None)
@given(TEXT)
@example("090-1234-5678")
@example("1090-1234-5678")
@example("+090-1234-5678")
@example("+81-90-1234-5678")
@example("0+81-90-1234-5678")
@example("03(1234)5678 と 0312345678")
@example("1234 5678 9012")
@example("01234 5678 9012")
@example("1234-5678-90123")
def test_fast_patterns_find_the_same_numbers(text):
    assert spans(PHONE, text) == spans(PLAIN_PHONE, text)
    assert spans(MY_NUMBER, text) == spans(PLAIN_MY_NUMBER, text)
    assert bool(PHONE.fullmatch(text)) == bool(PLAIN_PHONE.fullmatch(text))
    assert bool(MY_NUMBER.fullmatch(text)) == bool(PLAIN_MY_NUMBER.fullmatch(text))


def test_the_examples_are_found_where_they_are_and_not_inside_longer_numbers():
    text = "電話 090-1234-5678、番号 1234 5678 9012。会員番号 11234 5678 9012 と 21090-1234-5678"
    assert [m.group() for m in PHONE.finditer(text)] == ["090-1234-5678"]
    assert [m.group() for m in MY_NUMBER.finditer(text)] == ["1234 5678 9012"]
