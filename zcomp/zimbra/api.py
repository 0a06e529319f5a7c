"""The structural type the core programs against; ZimbraClient satisfies it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from zcomp.zimbra.operations import Request

T = TypeVar("T")


class ZimbraAPI(Protocol):
    @property
    def round_trips(self) -> int: ...

    def call(self, request: Request[T], *, as_account: str | None = None) -> T: ...

    def batch(
        self,
        requests: Sequence[Request[Any]],
        *,
        as_account: str | None = None,
        stop_on_error: bool = False,
    ) -> list[Any]: ...
