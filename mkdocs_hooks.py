"""mkdocs hooks (mkdocs.yml `hooks:`): the command reference gains the examples every command's
--help ends with, from the one table in zcomp.cli.examples (mkdocs-click leaves epilogs out)."""

from __future__ import annotations

from typing import Any


def on_page_markdown(markdown: str, page: Any, **_kwargs: Any) -> str:
    if page.file.src_uri != "commands.md":
        return markdown
    from zcomp.cli.examples import markdown as examples

    return markdown.replace("<!-- examples -->", examples())
