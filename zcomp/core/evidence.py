"""The evidence bundle: everything lockdown saw and decided, as canonical JSON with a SHA-256."""

from __future__ import annotations

import shlex
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from zcomp import __version__
from zcomp.exitcodes import UsageError, ZcompError
from zcomp.journal import canonical_json
from zcomp.journal.guard import ZIMBRA_TOKEN
from zcomp.securefile import make_private_dirs, mode_text, others_can_write, write_private
from zcomp.timestamps import stamp
from zcomp.zimbra.model import Account
from zcomp.zimbra.redact import SECRET_ATTRS  # credentials and their hashes: never kept

FORMAT = "zcomp-evidence/1"


def scrub_attrs(attrs: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: (["(withheld)"] if k in SECRET_ATTRS else list(v)) for k, v in sorted(attrs.items())}


def _plain(value: Any) -> Any:
    if isinstance(value, Account):
        return {"id": value.id, "name": value.name, "attrs": scrub_attrs(value.attrs)}
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


WITHHELD = "(token-shaped text withheld)"
# The shortest text ZIMBRA_TOKEN matches: a digit, "_", 40 hex digits, "_", a hex digit.
_TOKEN_MIN_LEN = 44


def _withhold_text(value: str) -> str:
    # Nearly every value is short or has no "_": neither can hold a token, so skip the regex.
    if type(value) is str and (len(value) < _TOKEN_MIN_LEN or "_" not in value):
        return value
    return ZIMBRA_TOKEN.sub(WITHHELD, value)


def withhold_tokens(value: Any) -> Any:
    """Zimbra data with anything shaped like an auth token replaced.

    The evidence is made of attacker-controlled text; a live token in it would be a secret, and
    a token-shaped string would (rightly) trip the journal's guard and stop the lockdown.
    """
    if isinstance(value, str):
        return _withhold_text(value)
    if isinstance(value, dict):
        return {withhold_tokens(k): withhold_tokens(v) for k, v in value.items()}
    if isinstance(value, list):
        return [withhold_tokens(v) for v in value]
    return value


def _evidence(value: Any) -> Any:
    """withhold_tokens(_plain(value)) in one walk instead of two (an account has hundreds of
    attributes, and the bundle holds more than one account's worth)."""
    kind = type(value)
    if kind is str:
        return _withhold_text(value)
    if kind is dict:
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if type(k) is not str:
                # str(k) may merge keys before tokens are withheld: keep both passes' order.
                return withhold_tokens(_plain(value))
            out[_withhold_text(k)] = _evidence(v)
        return out
    if kind is list or kind is tuple:
        return [_evidence(v) for v in value]
    if isinstance(value, Account):
        attrs = {
            _withhold_text(k) if type(k) is str else withhold_tokens(k): (
                ["(withheld)"]
                if k in SECRET_ATTRS
                # _withhold_text's short-str test inlined: runs for every value of every attr.
                else [
                    x
                    if type(x) is str and (len(x) < _TOKEN_MIN_LEN or "_" not in x)
                    else withhold_tokens(x)
                    for x in v
                ]
            )
            for k, v in sorted(value.attrs.items())
        }
        return {
            "id": withhold_tokens(value.id),
            "name": withhold_tokens(value.name),
            "attrs": attrs,
        }
    return withhold_tokens(_plain(value))


def build_bundle(parts: dict[str, Any]) -> dict[str, Any]:
    bundle = {"format": FORMAT, "zcomp": __version__, "captured_at": _now()}
    bundle.update(_evidence(parts))
    return bundle


def canonical(bundle: dict[str, Any]) -> bytes:
    """The same spelling the journal hashes, so the .sha256 file matches the journal's."""
    return canonical_json(bundle).encode("utf-8")


def write_bundle(
    bundle: dict[str, Any], sha: str, directory: str | Path, account: str, incident: int
) -> Path:
    """<dir>/<account>-incident-<n>.json plus a .sha256 file in `sha256sum -c` format.

    Both files are 0600 and written atomically; the directory is made 0700 if missing, and one
    that group or others can write to is refused (UsageError).
    """
    folder = prepare_evidence_dir(directory)
    path = folder / f"{account}-incident-{incident}.json"
    try:
        write_private(path, canonical(bundle))
        write_private(path.with_name(path.name + ".sha256"), f"{sha}  {path.name}\n".encode())
    except OSError as exc:
        raise ZcompError(f"cannot write evidence {path}: {exc.strerror or exc}") from None
    return path


def prepare_evidence_dir(directory: str | Path) -> Path:
    """The --evidence-dir, created 0700 (with its parents) or checked; callable before any change.

    Someone else able to write into it could swap a bundle and its .sha256 for forgeries.
    """
    folder = Path(directory)
    try:
        make_private_dirs(folder)
        st = folder.stat()
    except (FileExistsError, NotADirectoryError):
        raise UsageError(
            f"cannot use evidence directory {folder}: it, or a parent, is a file"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot use evidence directory {folder}: {exc.strerror or exc}") from None
    if others_can_write(st):
        raise UsageError(
            f"evidence directory {folder} is writable by group or others (mode {mode_text(st)}); "
            f"run `chmod 700 {shlex.quote(str(folder))}` or choose another --evidence-dir"
        )
    return folder


def _now() -> str:
    return stamp()
