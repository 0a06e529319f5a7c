"""The human text of a ticket, shared by every backend (plain text that reads as Markdown)."""

from __future__ import annotations

from datetime import datetime

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
    return f"zcomp {incident_key(content.incident_id)}: {one_line(content.title)}"


def render_text(content: TicketContent) -> str:
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
        *sorted(content.extra.items()),
    ]
    width = max(len(label) for label, _ in facts) + 1
    lines = [f"# {title_line(content)}", ""]
    lines += [f"{(label + ':').ljust(width)} {one_line(value)}" for label, value in facts]
    lines.append("")
    lines += _section("What was found", content.found)
    lines += _section("What was done", content.done)
    lines += _section("What the help desk must do next", content.next_steps, numbered=True)
    return "\n".join(lines)
