"""Incidents as people see them (INC000042) and numbers that must be finite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import Result

from zcomp.cli.options import INCIDENT, FiniteSeconds
from zcomp.journal import Journal


@pytest.mark.parametrize(
    "text", ["INC-7K3MQ9XA", "inc-7k3mq9xa", "7K3MQ9XA", "7k3m", "INC000042", "inc7", "42"]
)
def test_an_incident_as_shown_typed_short_or_as_a_number(text: str) -> None:
    # Taken as typed: the journal finds it (tests/journal/test_incident_keys.py).
    assert INCIDENT.convert(text, None, None) == text


@pytest.mark.parametrize("text", ["INC", "0", "INC-", "alice@x", "9" * 30, "INC-7K3MQ9XAB"])
def test_what_is_not_an_incident_is_one_clear_line(text: str) -> None:
    with pytest.raises(click.BadParameter, match="is not an incident"):
        INCIDENT.convert(text, None, None)


@pytest.mark.parametrize("text", ["inf", "nan", "-1", "0", "soon"])
def test_a_timeout_must_be_a_finite_number_of_seconds(text: str) -> None:
    with pytest.raises(click.BadParameter):
        FiniteSeconds().convert(text, None, None)


def test_timeout_inf_on_the_command_line_is_a_usage_error(invoke: Callable[..., Result]) -> None:
    result = invoke("--timeout", "inf", "history")
    assert result.exit_code == 2
    assert "finite number of seconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_history_and_ticket_retry_take_the_incident_as_shown(
    invoke: Callable[..., Result], state_dir: Path
) -> None:
    with Journal.open(state_dir) as journal:
        first = journal.start_incident("id-1", "alice@x", reason="r", operator="o")
        journal.start_incident("id-2", "bob@x", reason="r", operator="o")

    one = invoke("--json", "history", first.key.lower())
    assert one.exit_code == 0, one.stderr
    assert one.stdout.count("\n") == 1 and '"alice@x"' in one.stdout

    retry = invoke("ticket", "retry", first.key.lower())
    assert retry.exit_code == 0, retry.stderr  # nothing pending for it

    bad = invoke("ticket", "retry", "INC-#1")
    assert bad.exit_code == 2 and "is not an incident" in bad.stderr
    unknown = invoke("ticket", "retry", "INC-ZZZZZZZZ")
    assert unknown.exit_code == 1 and "no incident INC-ZZZZZZZZ" in unknown.stderr


def test_history_limit_is_bounded(invoke: Callable[..., Result]) -> None:
    result = invoke("history", "--limit", "99999999999999999999")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
