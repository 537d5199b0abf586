"""The merge-field language: placeholders only, never template code."""

import pytest

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
