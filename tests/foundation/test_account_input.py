"""--from input as admins really have it: exports with odd headers, BOMs, CRLF, stray Latin-1."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from zcomp.cli.account_input import (
    AccountInputError,
    AccountList,
    clean_account,
    deduplicate,
    physical_lines,
    read_accounts,
)
from zcomp.sandbox import Sandbox

Invoke = Callable[..., Result]
BOM = b"\xef\xbb\xbf"


def read(
    tmp_path: Path, data: bytes, *, column: str | None = None, skip_invalid: bool = False
) -> AccountList:
    """Through a real file, read as the CLI reads it."""
    path = tmp_path / "accounts.txt"
    path.write_bytes(data)
    with path.open("rb") as stream:
        return read_accounts(
            physical_lines(stream), origin="--from f", column=column, skip_invalid=skip_invalid
        )


def error(tmp_path: Path, data: bytes, *, column: str | None = None) -> str:
    with pytest.raises(AccountInputError) as caught:
        read(tmp_path, data, column=column)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ which column


@pytest.mark.parametrize(
    "text",
    [
        "email,name\nalice@x,Alice\n",
        "Email,Name\nalice@x,Alice\n",
        "Email Address,Name\nalice@x,Alice Smith\n",
        "name,E-mail\nAlice,alice@x\n",
        "Display Name,Primary Email\nAlice Smith,alice@x\n",
        "cn,full_name,user\nalice,Alice Smith,alice@x\n",
        "login,mailbox,mail\nlogin@x,box@x,alice@x\n",  # mail ranks before mailbox, login
    ],
)
def test_address_column_by_header_never_the_display_name(tmp_path: Path, text: str) -> None:
    assert read(tmp_path, text.encode()).accounts == ["alice@x"]


def test_gam_export_reads_primary_email(tmp_path: Path) -> None:
    header = (
        "primaryEmail,name.givenName,name.familyName,name.fullName,isAdmin,"
        "orgUnitPath,emails.0.address,emails.0.primary"
    )
    rows = [
        "alice@x,Alice,Smith,Alice Smith,False,/Staff,alice@x,True",
        'bob@x,Bob,"Jones, Jr",Bob Jones,False,/Staff,bob@x,True',
    ]
    data = "\n".join([header, *rows]).encode()
    assert read(tmp_path, data).accounts == ["alice@x", "bob@x"]


def test_column_overrides_the_header_choice(tmp_path: Path) -> None:
    data = b"email,Owner Mail\nhelpdesk@x,alice@x\n"
    assert read(tmp_path, data).accounts == ["helpdesk@x"]
    assert read(tmp_path, data, column="owner-mail").accounts == ["alice@x"]


def test_column_missing_from_the_header_is_one_error(tmp_path: Path) -> None:
    message = error(tmp_path, b"id,email\n1,alice@x\n", column="owner")
    assert message == "--from f: line 1: the header has no column 'owner' (found: 'id', 'email')"


def test_column_naming_display_names_is_refused(tmp_path: Path) -> None:
    assert "display names" in error(tmp_path, b"name,email\nA,a@x\n", column="Display Name")


@pytest.mark.parametrize("header", ["name,phone", "Display Name,Department", "cn"])
def test_header_without_an_address_column_names_what_it_found(tmp_path: Path, header: str) -> None:
    message = error(tmp_path, f"# export\n{header}\nAlice Smith,123\n".encode())
    assert message.startswith("--from f: line 2: the CSV header has no address column (found: ")
    for cell in header.split(","):
        assert repr(cell) in message
    assert "--column NAME" in message


@pytest.mark.parametrize(
    "data",
    [
        # Excel's "CSV" where the decimal mark is a comma: semicolons, a BOM, CRLF, and a
        # display name with a comma in it, quoted.
        BOM + b'Name;E-Mail;Abteilung\r\n"Smith, Alice";alice@x;Sales\r\nBob Jones;bob@x;IT\r\n',
        # Cells copied out of a spreadsheet: tab-separated.
        b"Display Name\tEmail\tQuota\nAlice Smith\talice@x\t1,5 GB\nBob Jones\tbob@x\t2 GB\n",
    ],
)
def test_semicolon_and_tab_separated_exports(tmp_path: Path, data: bytes) -> None:
    assert read(tmp_path, data).accounts == ["alice@x", "bob@x"]


def test_a_comma_header_wins_over_a_semicolon_in_a_cell(tmp_path: Path) -> None:
    data = b"email,note\nalice@x,a;b\n"
    assert read(tmp_path, data).accounts == ["alice@x"]


@pytest.mark.parametrize("header", ["Name;Phone", "Name\tPhone"])
def test_semicolon_or_tab_header_without_an_address_column(tmp_path: Path, header: str) -> None:
    message = error(tmp_path, f"{header}\nAlice;123\n".encode())
    assert message == (
        "--from f: line 1: the CSV header has no address column (found: 'Name', 'Phone'); "
        "name it with --column NAME"
    )


def test_column_option_finds_a_semicolon_separated_column(tmp_path: Path) -> None:
    data = b"Kontakt;Postfach\nalice@x;box@x\n"
    assert read(tmp_path, data, column="Postfach").accounts == ["box@x"]


# ------------------------------------------------------------------ bytes, BOM, CRLF


def test_bom_on_a_one_per_line_file(tmp_path: Path) -> None:
    assert read(tmp_path, BOM + b"alice@x\nbob@x\n").accounts == ["alice@x", "bob@x"]


def test_bom_on_a_csv_header(tmp_path: Path) -> None:
    assert read(tmp_path, BOM + b"Email,Name\r\nalice@x,Alice\r\n").accounts == ["alice@x"]


@pytest.mark.parametrize(
    "text",
    [
        "# list\r\nalice@x\r\n\r\nbob@x\r\n",
        "email,name\r\nalice@x,Alice\r\nbob@x,Bob\r\n",
        '{"account": "alice@x"}\r\n{"account": "bob@x"}\r\n',
    ],
)
def test_crlf_in_every_form(tmp_path: Path, text: str) -> None:
    assert read(tmp_path, text.encode()).accounts == ["alice@x", "bob@x"]


def test_utf16_file_is_one_error_naming_the_fix(tmp_path: Path) -> None:
    data = "email\r\nalice@x\r\n".encode("utf-16")
    assert "UTF-16" in error(tmp_path, data)


def test_latin1_line_is_an_error_with_its_line_number(tmp_path: Path) -> None:
    data = "# owners\n\nalice@x\nJos\xe9 <jose@x>\nbob@x\n".encode("latin-1")
    message = error(tmp_path, data)
    assert message.startswith("--from f: line 4: not UTF-8 text")


def test_latin1_line_is_skipped_with_skip_invalid(tmp_path: Path) -> None:
    data = "# owners\n\nalice@x\nJos\xe9 <jose@x>\nbob@x\n".encode("latin-1")
    result = read(tmp_path, data, skip_invalid=True)
    assert result.accounts == ["alice@x", "bob@x"]
    assert [bad.number for bad in result.skipped] == [4]
    assert str(result.skipped[0]).startswith("line 4: not UTF-8 text")


# ------------------------------------------------------------------ line numbers, limits


@pytest.mark.parametrize(
    "text",
    [
        "# suspects\n\nalice@x\n# more\nnot one@x\n",
        'email,name\n# a comment\nalice@x,A\n\n"x y" z,B\n',
        '{"account": "alice@x"}\n\n# from scan\n{"account": "bob@x"}\n{"score": 1}\n',
        '# bad JSON on line 5\n\n\n{"account": "alice@x"}\n{"account": \n',
    ],
)
def test_line_numbers_count_comments_and_blank_lines(tmp_path: Path, text: str) -> None:
    assert error(tmp_path, text.encode()).startswith("--from f: line 5: ")


def test_every_bad_line_is_kept_with_its_number(tmp_path: Path) -> None:
    text = 'email\nalice@x\na b@x\n\n<>\nbob@x\n"c@x,d@x"\n'
    result = read(tmp_path, text.encode(), skip_invalid=True)
    assert result.accounts == ["alice@x", "bob@x"]
    assert [bad.number for bad in result.skipped] == [3, 5, 7]


def test_overlong_line(tmp_path: Path) -> None:
    data = b"alice@x\n\n" + b"x" * 1_001 + b"\nbob@x\n"
    assert error(tmp_path, data) == "--from f: line 3: longer than 1,000 characters"
    assert read(tmp_path, data, skip_invalid=True).accounts == ["alice@x", "bob@x"]


def test_endless_line_is_cut_not_loaded(tmp_path: Path) -> None:
    data = b"alice@x\n" + b"\0" * 3_000_000 + b"\nbob@x\n"
    lines = list(physical_lines(io.BytesIO(data)))
    assert len(lines) == 3 and len(lines[1]) < 500_000 and lines[2] == b"bob@x\n"
    result = read(tmp_path, data, skip_invalid=True)
    assert result.accounts == ["alice@x", "bob@x"]
    assert str(result.skipped[0]) == "line 2: longer than 100,000 characters"


def test_long_json_lines_from_zcomp_are_read(tmp_path: Path) -> None:
    # One account of `zcomp --json inspect` is thousands of characters: not an overlong line.
    record = {"account": "alice@x", "findings": [{"detail": "x" * 5_000}]}
    assert read(tmp_path, json.dumps(record).encode()).accounts == ["alice@x"]


def test_deeply_nested_json(tmp_path: Path) -> None:
    data = b'{"account": "alice@x"}\n' + b"[" * 40_000 + b"]" * 40_000 + b"\n"
    assert error(tmp_path, data) == "--from f: line 2: JSON nested too deeply"
    assert read(tmp_path, data, skip_invalid=True).accounts == ["alice@x"]


# ------------------------------------------------------------------ JSON lines


def test_json_lines_take_account_then_email_then_mail(tmp_path: Path) -> None:
    lines = [
        {"email": "e@x", "account": "a@x", "result": "clean"},
        {"name": "Bob", "mail": "m@x", "email": "b@x"},
        {"Primary Email": "p@x", "displayName": "Pat"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    assert read(tmp_path, data).accounts == ["a@x", "b@x", "p@x"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"name": "Alice Smith"}', "no account/email/mail/primaryEmail/address/... field"),
        ('{"account": 7}', "no account/email/mail/primaryEmail/address/... field"),
        ('["alice@x"]', "not a JSON object"),
        ('{"account": "a@x"', "not JSON: Expecting ',' delimiter"),
    ],
)
def test_json_line_without_an_account_is_a_bad_line(tmp_path: Path, line: str, reason: str) -> None:
    data = f'{{"account": "alice@x"}}\n{line}\n'.encode()
    assert error(tmp_path, data) == f"--from f: line 2: {reason}"


# ------------------------------------------------------------------ cleaning, duplicates


@pytest.mark.parametrize(
    "value",
    [
        "<alice@x>",
        "mailto:alice@x",
        "MAILTO:alice@x?subject=hi",
        "Alice Smith <alice@x>",
        '"Alice Smith" <alice@x>',
        '"Smith, Alice" <mailto:alice@x>',
        '"alice@x"',
        "  'alice@x'  ",
    ],
)
def test_cleaning(value: str) -> None:
    assert clean_account(value) == "alice@x"


def test_a_bare_name_is_kept() -> None:
    assert clean_account("alice") == "alice"


def test_cleaning_in_a_file(tmp_path: Path) -> None:
    text = "<alice@x>\nmailto:bob@x\nCarol Jones <carol@x>\n"
    assert read(tmp_path, text.encode()).accounts == ["alice@x", "bob@x", "carol@x"]
    csv_text = 'Email,Name\n"""Dan D"" <dan@x>",Dan\n"mailto:erin@x",Erin\n'
    assert read(tmp_path, csv_text.encode()).accounts == ["dan@x", "erin@x"]


@pytest.mark.parametrize(
    "value", ["alice smith@x", "a@x,b@x", "a@x;b@x", "a\tb@x", "<a@x", "", "a@", "@x", "a@@x"]
)
def test_not_one_account(value: str) -> None:
    with pytest.raises(ValueError):
        clean_account(value)


def test_duplicates_differing_in_case_keep_the_first_spelling(tmp_path: Path) -> None:
    text = "Alice@X\n<alice@x>\nbob@x\nmailto:ALICE@x\nBOB@X\n"
    assert deduplicate(read(tmp_path, text.encode()).accounts) == ["Alice@X", "bob@x"]


# ------------------------------------------------------------------ through the CLI


@pytest.mark.usefixtures("probe_command")
def test_cli_bad_line_stops_everything(invoke: Invoke, tmp_path: Path) -> None:
    listing = tmp_path / "accounts.csv"
    listing.write_bytes("email,name\nalice@x,A\nJos\xe9@x,J\n".encode("latin-1"))
    result = invoke("--json", "probe", "--from", str(listing))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"--from {listing}: line 3: not UTF-8 text" in result.stderr


@pytest.mark.usefixtures("probe_command")
def test_cli_skip_invalid_warns_once_per_line(invoke: Invoke, tmp_path: Path) -> None:
    listing = tmp_path / "accounts.csv"
    listing.write_bytes("email,name\nJos\xe9@x,J\nalice@x,A\nnot one,B\n".encode("latin-1"))
    result = invoke("--json", "probe", "--from", str(listing), "--skip-invalid")
    assert result.exit_code == 0
    assert [json.loads(line)["account"] for line in result.stdout.splitlines()] == ["alice@x"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"Warning: --from {listing}: line 2: not UTF-8 text")
    assert (
        warnings[1] == f"Warning: --from {listing}: line 4: 'not one' is not one account; skipped"
    )


@pytest.mark.usefixtures("probe_command")
def test_cli_column_without_from_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("probe", "alice@x", "--column", "email")
    assert result.exit_code == 2 and "--column and --skip-invalid apply to --from" in result.stderr


@pytest.mark.usefixtures("probe_command")
def test_cli_stdin_reads_bytes(invoke: Invoke) -> None:
    result = invoke("--json", "probe", "--from", "-", input="\ufeffEmail Address,Name\r\na@x,A\r\n")
    assert [json.loads(line)["account"] for line in result.stdout.splitlines()] == ["a@x"]


def test_inspect_from_an_export_end_to_end(
    invoke: Invoke, sandbox: Sandbox, tmp_path: Path
) -> None:
    listing = tmp_path / "phished.csv"
    rows = [
        "Primary Email,Display Name,Note",
        '"Alice Sandbox" <Alice@sandbox.test>,Alice Sandbox,reported',
        "",
        "# forwarded by the help desk",
        "mailto:bob@sandbox.test,Bob,",
        "alice@SANDBOX.test,Alice again,duplicate",
    ]
    listing.write_bytes(BOM + "\r\n".join(rows).encode() + b"\r\n")
    result = invoke(
        "--json",
        "--url",
        sandbox.admin_url,
        "--admin",
        "admin@sandbox.test",
        "inspect",
        "--from",
        str(listing),
        env={"ZCOMP_PASSWORD": "sandbox"},
    )
    assert result.exit_code in (0, 1), result.stderr  # 1: a finding, not a failure
    inspected = sorted(json.loads(line)["account"] for line in result.stdout.splitlines())
    assert inspected == ["alice@sandbox.test", "bob@sandbox.test"]  # Zimbra's spelling
