"""The merge-field language: placeholders only, never template code; linear on any text."""

import re

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from approvals import merge

COLUMNS = ["氏名", "email", "会員番号"]


def test_placeholder_is_replaced_by_the_rows_value():
    assert merge.render("{{氏名}} 様 ({{ 会員番号 }})", {"氏名": "山田 太郎", "会員番号": "M1"}) == "山田 太郎 様 (M1)"


@pytest.mark.parametrize("text", ["{{ settings.SECRET_KEY }}", "{{ a.b }}", "{{ 氏名|upper }}", "{{ x() }}"])
def test_template_code_in_a_placeholder_is_an_error(text):
    assert merge.check_template(text, COLUMNS)


@pytest.mark.parametrize("text", ["{% debug %}", "{% load static %}", "{# c #}"])
def test_template_tags_are_literal_text(text):
    assert merge.check_template(text, COLUMNS) == []
    assert merge.render(text, {}) == text


def test_unknown_field_names_the_field_and_the_columns():
    problems = merge.check_template("{{住所}}", COLUMNS)
    assert len(problems) == 1 and "住所" in problems[0] and "会員番号" in problems[0]


def test_render_refuses_unknown_field():
    with pytest.raises(merge.MergeError):
        merge.render("{{住所}}", {"氏名": "x"})


def test_values_are_escaped_in_html():
    assert merge.render("<p>{{氏名}}</p>", {"氏名": "<script>x</script>"}, escape_html=True) == (
        "<p>&lt;script&gt;x&lt;/script&gt;</p>")


def test_line_break_in_a_merged_header_is_refused():
    with pytest.raises(merge.MergeError):
        merge.render_header("{{氏名}} 様", {"氏名": "x\r\nBcc: evil@example.org"})


def test_a_value_is_never_rendered_again():
    assert merge.render("{{氏名}}", {"氏名": "{{email}}", "email": "a@b"}) == "{{email}}"


# --- Properties over any text (hypothesis) ------------------------------------------------------

# Texts made mostly of the characters that matter to the parser, so braces meet often.
BRACEY = st.text(alphabet=st.sampled_from("{}{}{} ab氏名.|%\n\r\t\\'\"()[]"), max_size=60)
ANY_TEXT = st.one_of(BRACEY, st.text(max_size=60))
FIELD = st.text(alphabet=st.characters(blacklist_characters="{}|.%[]()\"'\\\n\r\t"), min_size=1, max_size=12).filter(
    lambda name: name.strip() == name and name.strip())
ROWS = st.dictionaries(st.one_of(FIELD, st.text(max_size=8)), st.one_of(st.text(max_size=20), st.none()), max_size=5)
REFERENCE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)  # the old, quadratic definition


@hypothesis_settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_placeholders_are_exactly_those_of_the_reference_expression(text):
    found = [(p.raw, p.name, p.start, p.end) for p in merge.placeholders(text)]
    expected = [(m.group(0), m.group(1).strip(), m.start(), m.end()) for m in REFERENCE.finditer(text)]
    assert found == expected
    assert [m.span() for m in merge.PLACEHOLDER.finditer(text)] == [m.span() for m in REFERENCE.finditer(text)]


@hypothesis_settings(max_examples=300, deadline=None)
@given(ANY_TEXT, ROWS, st.booleans())
def test_render_returns_text_or_a_merge_error_and_nothing_else(text, row, escape):
    try:
        rendered = merge.render(text, row, escape_html=escape)
    except merge.MergeError:
        return
    assert isinstance(rendered, str)
    if not merge.placeholders(text):
        assert rendered == text


@hypothesis_settings(max_examples=300, deadline=None)
@given(ANY_TEXT, ROWS)
def test_a_rendered_header_never_holds_a_line_break(text, row):
    try:
        value = merge.render_header(text, row)
    except merge.MergeError:
        return
    assert "\n" not in value and "\r" not in value


@hypothesis_settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.lists(FIELD, max_size=4))
def test_check_template_never_raises_and_agrees_with_render(text, columns):
    problems = merge.check_template(text, columns)
    assert all(isinstance(problem, str) for problem in problems)
    row = {column: "v" for column in columns}
    if not problems:
        merge.render(text, row)  # what the preflight accepts renders for every row


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.sampled_from("ab }\n"), max_size=6), FIELD), max_size=5),
       st.text(alphabet=st.sampled_from("ab {}\n"), max_size=6), st.data())
def test_each_field_is_replaced_by_its_own_rows_value_once(pieces, tail, data):
    row = {name: data.draw(st.text(max_size=10), label=name) for _static, name in pieces}
    text = "".join(static + "{{" + name + "}}" for static, name in pieces) + tail.replace("}}", "}")
    expected = "".join(static + row[name] for static, name in pieces) + tail.replace("}}", "}")
    assert merge.render(text, row) == expected


@pytest.mark.parametrize("text", [
    "{{" * 200_000, "{{" + "x" * 400_000, "{{ a }" * 60_000, "}}" * 200_000, "{" * 400_000,
    "{{a}}" * 80_000, ("{{ 氏名 " + "}" * 3) * 40_000,
])
def test_every_function_handles_large_adversarial_texts(text):
    """At these sizes the old regular expression needed minutes for the unclosed cases; the linear
    scan needs milliseconds. No timing is asserted: bench/adversarial.py prints the figures."""
    merge.check_template(text, ["a", "氏名"])
    merge.used_fields(text)
    try:
        merge.render(text, {"a": "1", "氏名": "x"})
    except merge.MergeError:
        pass
