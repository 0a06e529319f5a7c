"""The evidence bundle: everything lockdown saw and decided, as canonical JSON with a SHA-256."""

from __future__ import annotations

import os
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zcomp import __version__
from zcomp.journal import canonical_json
from zcomp.journal.guard import ZIMBRA_TOKEN
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


def withhold_tokens(value: Any) -> Any:
    """Zimbra data with anything shaped like an auth token replaced.

    The evidence is made of attacker-controlled text; a live token in it would be a secret, and
    a token-shaped string would (rightly) trip the journal's guard and stop the lockdown.
    """
    if isinstance(value, str):
        return ZIMBRA_TOKEN.sub(WITHHELD, value)
    if isinstance(value, dict):
        return {withhold_tokens(k): withhold_tokens(v) for k, v in value.items()}
    if isinstance(value, list):
        return [withhold_tokens(v) for v in value]
    return value


def build_bundle(parts: dict[str, Any]) -> dict[str, Any]:
    bundle = {"format": FORMAT, "zcomp": __version__, "captured_at": _now()}
    bundle.update(withhold_tokens(_plain(parts)))
    return bundle


def canonical(bundle: dict[str, Any]) -> bytes:
    """The same spelling the journal hashes, so the .sha256 file matches the journal's."""
    return canonical_json(bundle).encode("utf-8")


def write_bundle(
    bundle: dict[str, Any], sha: str, directory: str | Path, account: str, incident: int
) -> Path:
    """<dir>/<account>-incident-<n>.json plus a .sha256 file in `sha256sum -c` format."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{account}-incident-{incident}.json"
    data = canonical(bundle)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    (folder / (path.name + ".sha256")).write_text(f"{sha}  {path.name}\n")
    return path


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
