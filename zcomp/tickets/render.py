"""The human text of a ticket, shared by every backend (plain text that reads as Markdown)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from zcomp.tickets.content import TicketContent, incident_key
from zcomp.timestamps import stamp


def utc_text(moment: datetime) -> str:
    """2024-05-01T12:00:00Z (zcomp.timestamps); a naive datetime is taken as UTC."""
    return stamp(moment)


def one_line(text: str) -> str:
    """Items are one line each: fold newlines and runs of spaces."""
    return " ".join(text.split())


def _section(title: str, items: list[str], *, numbered: bool = False) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        lines.append("- (nothing)")
    for number, item in enumerate(items, start=1):
        bullet = f"{number}." if numbered else "-"
        lines.append(f"{bullet} {one_line(item)}")
    lines.append("")
    return lines


def title_line(content: TicketContent) -> str:
    """The subject/summary every backend sends: the title, which names the incident (lockdown's
    "Compromised account a@x locked (incident INC-7K3MQ9XA)"); a title that does not is
    prefixed "zcomp KEY: ", so the key is in it once either way."""
    key = incident_key(content.incident_id)
    title = one_line(content.title)
    return title if key in title else f"zcomp {key}: {title}"


PLACEHOLDERS = (
    "title",
    "account",
    "incident",
    "opened",
    "evidence",
    "reason",
    "operator",
    "found",
    "done",
    "next_steps",
)


class _Facts(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def check_template(text: str) -> None:
    """Raise ValueError naming a placeholder the template uses that is not one of ours."""
    sample = _Facts((name, "") for name in PLACEHOLDERS)
    try:
        text.format_map(sample)
    except KeyError as exc:
        raise ValueError(
            f"unknown placeholder {{{exc.args[0]}}} (known: "
            + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
            + ")"
        ) from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"not a template ({exc}); write a literal brace as {{{{ or }}}}") from None


def load_template(path: Path) -> str:
    """The template file's text, checked; ValueError says what is wrong with it."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    check_template(text)
    return text


def _bullets(items: list[str], *, numbered: bool = False) -> str:
    if not items:
        return "- (nothing)"
    return "\n".join(
        f"{n}. {one_line(item)}" if numbered else f"- {one_line(item)}"
        for n, item in enumerate(items, start=1)
    )


def _from_template(content: TicketContent, template: str) -> str:
    facts = _Facts(
        title=one_line(content.title),
        account=content.account,
        incident=incident_key(content.incident_id),
        opened=utc_text(content.created_at),
        evidence=content.evidence_sha256 or "none recorded",
        reason=one_line(content.extra.get("reason", "")),
        operator=one_line(content.extra.get("operator", "")),
        found=_bullets(content.found),
        done=_bullets(content.done),
        next_steps=_bullets(content.next_steps, numbered=True),
    )
    return template.format_map(facts)


def render_text(content: TicketContent) -> str:
    if content.template is not None:
        return _from_template(content, content.template)
    key = incident_key(content.incident_id)
    evidence = (
        f"SHA-256 {content.evidence_sha256} (bundle kept in the zcomp journal)"
        if content.evidence_sha256
        else "none recorded"
    )
    facts = [
        ("Account", content.account),
        ("Incident", key),
        ("Opened", utc_text(content.created_at)),
        ("Evidence", evidence),
        # lockdown's extras are keyed "operator", "reason": labelled like the lines above them
        *((label[:1].upper() + label[1:], value) for label, value in sorted(content.extra.items())),
    ]
    width = max(len(label) for label, _ in facts) + 1
    lines = [f"# {title_line(content)}", ""]
    lines += [f"{(label + ':').ljust(width)} {one_line(value)}" for label, value in facts]
    lines.append("")
    lines += _section("What was found", content.found)
    lines += _section("What was done", content.done)
    lines += _section("What the help desk must do next", content.next_steps, numbered=True)
    return "\n".join(lines)
