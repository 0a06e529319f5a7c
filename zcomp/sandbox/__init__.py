"""A Zimbra-compatible sandbox server for tests, rehearsals and `zcomp demo`."""

from __future__ import annotations

from zcomp.sandbox.attack import AttackReport, replay_attack
from zcomp.sandbox.sandbox import Sandbox, SandboxOptions, bulk_password, demo_password

__all__ = [
    "AttackReport",
    "Sandbox",
    "SandboxOptions",
    "bulk_password",
    "demo_password",
    "replay_attack",
]
