"""Accounts from a --from file: one per line, CSV with an address column, or JSON lines.

Pure functions over the file's bytes, no Click (options.accounts_options is the Click face).
Lines are decoded one by one so a stray Latin-1 line is one bad line, not a broken file, and
every message names the physical line (blank lines and comments counted), as an editor shows it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

# Address columns (and JSON fields), best first, as normalised by _normalise.
ADDRESS_COLUMNS = (
    "account",
    "email",
    "mail",
    "primaryemail",
    "address",
    "mailbox",
    "user",
    "login",
)
# Never an address: `email,name` must not pick `name`.
DISPLAY_NAME_COLUMNS = frozenset({"name", "displayname", "fullname", "cn"})
MAX_ACCOUNT_CHARS = 1_000
# CSV rows and JSON lines carry more than the address: a GAM export with every field, or one
# account of `zcomp --json inspect` (about 3,000 characters), must still be read.
MAX_RECORD_CHARS = 100_000
# Read cap per line: the longest record in UTF-8 plus BOM and CRLF; an endless line is cut here.
_MAX_LINE_BYTES = 4 * MAX_RECORD_CHARS + 8

# "Email Address" and "E-mail address" are the email column too.
_COLUMN_RANK = {name: rank for rank, name in enumerate(ADDRESS_COLUMNS)} | {
    name + "address": rank for rank, name in enumerate(ADDRESS_COLUMNS)
}
_SHOWN_COLUMNS = "/".join(("account", "email", "mail", "primaryEmail", "address", "..."))
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_CSV_HINT = f"; for CSV, add a header line naming the address column ({_SHOWN_COLUMNS})"
_NOT_IN_AN_ADDRESS = re.compile(r"[\s,;<>\"\x00-\x1f\x7f]")
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>\s*$")  # `Name <addr>`, `"Name" <addr>`, `<addr>`


class AccountInputError(Exception):
    """The input cannot be used; the message is one line naming the source and the line."""


class InvalidAccount(ValueError):
    """One value is not an account; the message says why (without the line number)."""


@dataclass(frozen=True)
class BadLine:
    number: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.reason}"


@dataclass
class AccountList:
    accounts: list[str] = field(default_factory=list)
    skipped: list[BadLine] = field(default_factory=list)  # only with skip_invalid


def read_accounts(
    lines: Iterable[bytes | str],
    *,
    origin: str = "--from",
    column: str | None = None,
    skip_invalid: bool = False,
) -> AccountList:
    """Accounts in file order (duplicates kept; see deduplicate).

    Format by the first line that is not blank or a '#' comment: '{' starts JSON lines, a
    header naming an address column (or `column`) starts a CSV, anything else is one account
    per line. A bad line raises AccountInputError, or with skip_invalid is listed in `skipped`.
    """
    if column is not None and _normalise(column) in DISPLAY_NAME_COLUMNS:
        raise AccountInputError(f"--column {column!r} holds display names, not addresses")
    source = _Lines(lines, origin, skip_invalid)
    result = AccountList(skipped=source.skipped)
    first = source.first_meaningful()
    if first is None:
        return result
    number, text = first
    if text.startswith("{"):
        _read_json_lines(source, first, column, result.accounts)
    else:
        header = _header(text, column, origin, number)
        if header is None:
            _read_plain(source, first, result.accounts)
        else:
            _read_csv(source, header, result.accounts)
            if not result.accounts and not result.skipped:
                raise AccountInputError(f"{origin}: the CSV has a header but no accounts")
    result.skipped.sort(key=lambda bad: bad.number)
    return result


def clean_account(value: str) -> str:
    """The address in `<a@x>`, `mailto:a@x`, `Name <a@x>`, `"a@x"`; refuses what is not one
    (spaces, commas, control characters, two @, nothing before or after the @).

    A bare name (no @) is kept as it is.
    """
    text = _unquote(value)
    if "<" in text and (match := _ANGLE_ADDRESS.search(text)):
        text = _unquote(match.group(1))
    if text[:7].lower() == "mailto:":
        text = _unquote(text[7:].split("?", 1)[0])  # mailto:a@x?subject=... is one address
    if not text:
        raise InvalidAccount("no account in it")
    if len(text) > MAX_ACCOUNT_CHARS:
        raise InvalidAccount(f"longer than {MAX_ACCOUNT_CHARS:,} characters")
    if _NOT_IN_AN_ADDRESS.search(text) or text.count("@") > 1:
        raise InvalidAccount(f"{_shown(value)} is not one account")
    if text.startswith("@") or text.endswith("@"):
        # Zimbra would answer NO_SUCH_ACCOUNT, after the batch's other accounts were changed.
        missing = "name before" if text.startswith("@") else "domain after"
        raise InvalidAccount(f"{_shown(value)} is not an account (no {missing} the @)")
    return text


def deduplicate(accounts: Iterable[str]) -> list[str]:
    """Keep the first spelling of each account; Zimbra names are case-insensitive."""
    seen: set[str] = set()
    ordered = []
    for account in accounts:
        key = account.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            ordered.append(account.strip())
    return ordered


def physical_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream; an endless line is cut short (and later refused as too
    long) so a binary file given by mistake never fills memory."""
    while line := stream.readline(_MAX_LINE_BYTES + 1):
        if len(line) > _MAX_LINE_BYTES and not line.endswith(b"\n"):
            _skip_rest_of_line(stream)
        yield line


def _skip_rest_of_line(stream: IO[bytes]) -> None:
    while chunk := stream.readline(_MAX_LINE_BYTES):
        if chunk.endswith(b"\n"):
            return


class _LineError(Exception):
    """A physical line that cannot be read (undecodable, too long)."""


class _Lines:
    """Numbered, decoded lines; the policy for bad ones (stop, or note and go on) lives here."""

    def __init__(self, lines: Iterable[bytes | str], origin: str, skip_invalid: bool) -> None:
        self._numbered = enumerate(lines, start=1)
        self.origin = origin
        self.skip_invalid = skip_invalid
        self.skipped: list[BadLine] = []

    def report(self, number: int, reason: str) -> None:
        if not self.skip_invalid:
            raise AccountInputError(f"{self.origin}: line {number}: {reason}")
        self.skipped.append(BadLine(number, reason))

    def __iter__(self) -> Iterator[tuple[int, str]]:
        """(number, text without line ending or BOM); unreadable lines are reported instead."""
        for number, raw in self._numbered:
            if number == 1 and isinstance(raw, bytes) and raw.startswith(_UTF16_BOMS):
                # Every line would be garbage: one error for the file, even with skip_invalid.
                raise AccountInputError(
                    f"{self.origin}: the file is UTF-16 text; save it as UTF-8 (Excel: CSV UTF-8)"
                )
            try:
                text = _decode(raw)
            except _LineError as exc:
                self.report(number, str(exc))
                continue
            yield number, text

    def first_meaningful(self) -> tuple[int, str] | None:
        """The first line that is neither blank nor a comment, stripped."""
        for number, text in self:
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                return number, stripped
        return None

    def meaningful(self) -> Iterator[tuple[int, str]]:
        for number, text in self:
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                yield number, stripped


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        if len(raw) > _MAX_LINE_BYTES:
            raise _LineError(f"longer than {MAX_RECORD_CHARS:,} characters")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _LineError(
                f"not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8"
            ) from None
    text = raw.rstrip("\r\n").removeprefix("\ufeff")  # a BOM starts the file, or a pasted part
    if len(text) > MAX_RECORD_CHARS:
        raise _LineError(f"longer than {MAX_RECORD_CHARS:,} characters")
    return text


def _read_plain(source: _Lines, first: tuple[int, str], found: list[str]) -> None:
    for number, text in _chain(first, source.meaningful()):
        if len(text) > MAX_ACCOUNT_CHARS:
            source.report(number, f"longer than {MAX_ACCOUNT_CHARS:,} characters")
            continue
        try:
            found.append(clean_account(text))
        except InvalidAccount as exc:
            hint = _CSV_HINT if any(d in text for d in _DELIMITERS) else ""
            source.report(number, f"{exc}{hint}")


def _read_json_lines(
    source: _Lines, first: tuple[int, str], column: str | None, found: list[str]
) -> None:
    for number, text in _chain(first, source.meaningful()):
        try:
            found.append(_json_account(text, column))
        except (_LineError, InvalidAccount) as exc:
            source.report(number, str(exc))


def _json_account(text: str, column: str | None) -> str:
    try:
        record = json.loads(text)
    except RecursionError:
        raise _LineError("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer beyond Python's digit limit
        raise _LineError(f"not JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(record, dict):
        raise _LineError("not a JSON object")
    value = record.get("account")  # zcomp's own output: skip ranking the other fields
    if column is not None or not (isinstance(value, str) and value.strip()):
        value = _best_field(record, column)
    if value is None:
        wanted = repr(column) if column is not None else _SHOWN_COLUMNS
        raise _LineError(f"no {wanted} field")
    return clean_account(value)


def _best_field(record: dict[str, object], column: str | None) -> str | None:
    ranked = []
    for key, value in record.items():
        if isinstance(value, str) and value.strip():
            rank = _rank(_normalise(key), column)
            if rank is not None:
                ranked.append((rank, value))
    return min(ranked)[1] if ranked else None


def _read_csv(source: _Lines, header: _Header, found: list[str]) -> None:
    numbers: list[int] = []  # physical lines of the row being read (a quoted cell may span)
    index = header.index

    def texts() -> Iterator[str]:
        for number, text in source:
            numbers.append(number)
            yield text + "\n"

    reader = csv.reader(texts(), delimiter=header.delimiter)
    while True:
        numbers.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            source.report(numbers[0] if numbers else 0, f"not valid CSV: {exc}")
            continue
        _take_cell(source, row, index, numbers[0], found)


def _take_cell(source: _Lines, row: list[str], index: int, number: int, found: list[str]) -> None:
    if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
        return
    if len(row) <= index:
        source.report(number, f"only {len(row)} field(s); the address is field {index + 1}")
        return
    if not row[index].strip():
        return  # a row without an address (a group, a deleted user) is no account
    try:
        found.append(clean_account(row[index]))
    except InvalidAccount as exc:
        source.report(number, str(exc))


@dataclass(frozen=True)
class _Header:
    index: int  # of the address column
    delimiter: str


# The comma; the semicolon of Excel's "CSV" where the decimal mark is a comma (most of Europe);
# the tab of cells copied out of a spreadsheet. The first that makes the header name an address
# column is the file's.
_DELIMITERS = (",", ";", "\t")


def _header(text: str, column: str | None, origin: str, number: int) -> _Header | None:
    """The address column and delimiter if `text` is a CSV header, None for a plain line."""
    splits = [(d, next(csv.reader([text], delimiter=d))) for d in _DELIMITERS]
    for delimiter, cells in splits:
        index = _address_column(cells, column)
        if index is not None:
            return _Header(index, delimiter)
    # No address column by any delimiter: judge the split that finds the most cells.
    _, cells = max(splits, key=lambda split: len(split[1]))
    keys = [_normalise(cell) for cell in cells]
    found = ", ".join(repr(cell.strip()) for cell in cells[:12]) + (", ..." * (len(cells) > 12))
    if column is not None:
        raise AccountInputError(
            f"{origin}: line {number}: the header has no column {column!r} (found: {found})"
        )
    if (len(cells) > 1 and not any("@" in cell for cell in cells)) or (
        len(cells) == 1 and keys[0] in DISPLAY_NAME_COLUMNS
    ):
        raise AccountInputError(
            f"{origin}: line {number}: the CSV header has no address column (found: {found}); "
            "name it with --column NAME"
        )
    return None


def _address_column(cells: list[str], column: str | None) -> int | None:
    keys = [_normalise(cell) for cell in cells]
    ranked = [(rank, i) for i, key in enumerate(keys) if (rank := _rank(key, column)) is not None]
    return min(ranked)[1] if ranked else None


def _rank(key: str, column: str | None) -> int | None:
    if column is not None:
        return 0 if key == _normalise(column) else None
    return _COLUMN_RANK.get(key)


def _normalise(name: str) -> str:
    """'Primary Email', 'E-mail', 'primary_email' -> 'primaryemail', 'email', 'primaryemail'."""
    return name.strip().lower().replace(" ", "").replace("-", "").replace("_", "")


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _shown(value: str) -> str:
    """A value for a one-line message: quoted, control characters escaped, cut short."""
    value = value.strip()
    return repr(value) if len(value) <= 60 else repr(value[:60]) + "..."


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest
