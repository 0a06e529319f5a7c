"""--from parsing: one per line, CSV with a header column, JSON lines; order kept, dupes dropped."""

from __future__ import annotations

import click
import pytest

from zcomp.cli.options import deduplicate, parse_account_lines


def test_one_per_line_with_comments_and_blanks() -> None:
    text = "# suspects\na@x.edu\n\n  b@x.edu  \r\n"
    assert parse_account_lines(text.splitlines(True)) == ["a@x.edu", "b@x.edu"]


@pytest.mark.parametrize("column", ["account", "E-mail", "EMAIL"])
def test_csv_with_header(column: str) -> None:
    text = f'id,{column},note\n1,a@x.edu,"spam, lots"\n2,b@x.edu,\n3,,empty\n'
    assert parse_account_lines(text.splitlines(True)) == ["a@x.edu", "b@x.edu"]


def test_single_column_header() -> None:
    assert parse_account_lines(["account\n", "a@x\n"]) == ["a@x"]


def test_json_lines_from_scan() -> None:
    lines = ['{"account": "a@x", "score": 9}\n', '{"email": "b@x"}\n']
    assert parse_account_lines(lines) == ["a@x", "b@x"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["a@x,b@x\n"], "add a header"),
        (["a@x b@x\n"], "is not one account"),
        (['{"score": 1}\n'], "no account/email/mail/primaryEmail"),
        (['{"account": \n'], "not JSON"),
        (["account\n", "\n"], "no accounts"),
    ],
)
def test_bad_input_is_a_usage_error(lines: list[str], message: str) -> None:
    with pytest.raises(click.UsageError, match=message):
        parse_account_lines(lines)


def test_empty_input() -> None:
    assert parse_account_lines(["\n", "# nothing\n"]) == []


def test_deduplicate_keeps_first_spelling_and_order() -> None:
    assert deduplicate(["B@x", "a@x", "b@X", " a@x ", ""]) == ["B@x", "a@x"]
