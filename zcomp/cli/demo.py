"""zcomp demo: the whole story on the built-in sandbox, in a few seconds, touching nothing real."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from zcomp.cli.context import AppContext, pass_app
from zcomp.cli.render import show_outcome
from zcomp.cli.runtime import Runtime
from zcomp.config import Settings
from zcomp.core.outcome import AccountOutcome
from zcomp.exitcodes import ExitCode
from zcomp.zimbra.model import Secret
from zcomp.zimbra.settings import ConnectionSettings

VICTIM = "alice@sandbox.test"
ADMIN = "admin@sandbox.test"


@click.command()
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the journal, evidence and ticket in DIR instead of a temporary folder.",
)
@pass_app
def demo(app: AppContext, keep: Path | None) -> None:
    """Start the sandbox (two mailbox servers), replay a phishing attack on alice, inspect,
    lock down, and show what was done and the help-desk ticket."""
    started = time.monotonic()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        _run(app, keep)
    else:
        with tempfile.TemporaryDirectory(prefix="zcomp-demo-") as tmp:
            _run(app, Path(tmp))
    app.output.info(f"demo finished in {time.monotonic() - started:.1f} s")


def _run(app: AppContext, state_dir: Path) -> None:
    from zcomp.sandbox import Sandbox, SandboxOptions, replay_attack

    out = app.output
    with Sandbox(SandboxOptions(servers=2, seed="demo", port=0)) as sandbox:
        out.info(f"sandbox: {len(sandbox.urls)} mailbox servers, admin URL {sandbox.admin_url}")
        attack = replay_attack(sandbox, VICTIM)
        out.info(
            f"attack replayed on {VICTIM} through {attack.server_url} (not its home server): "
            f"forwarding to {attack.freemail}, filters {', '.join(attack.rule_names)}, "
            "spoofed From/Reply-To, spam signature, one message to 80 Bcc recipients, "
            f"{attack.public_folder} shared publicly, {attack.guest_folder} shared with "
            f"{attack.freemail}, sendAs for {attack.accomplice}"
        )
        settings = Settings(
            url=sandbox.admin_url,
            admin=ADMIN,
            password_file=None,
            ca_bundle=None,
            insecure=False,
            timeout=30.0,
            token_cache="off",  # noqa: S106 - a mode, not a password
            keyring=False,
            state_dir=state_dir,
            profile=None,
            config_path=None,
        )
        demo_app = AppContext(
            settings=settings,
            json=app.json,
            quiet=app.quiet,
            no_color=app.no_color,
            debug=app.debug,
        )
        connection = ConnectionSettings(
            url=sandbox.admin_url,
            admin=ADMIN,
            password=lambda: Secret("sandbox"),
            token_cache="off",  # noqa: S106 - a mode, not a password
            state_dir=state_dir,
            debug=app.output.debug if app.debug else None,
        )
        with Runtime(demo_app, connection, files_tickets=True) as runtime:
            from zcomp.cli.inspect import show_inspection
            from zcomp.core.inspect import inspect_account
            from zcomp.core.lockdown import LockdownOptions, lockdown_account

            env = runtime.make_services()
            out.info("")
            out.info(f"zcomp inspect {VICTIM}")
            show_inspection(out, inspect_account(env, VICTIM))
            out.info("")
            out.info(f"zcomp lockdown {VICTIM}")
            if not app.json:
                env.events = lambda account, step: out.info(f"  {account}: {step}")
            outcome = lockdown_account(env, VICTIM, LockdownOptions(reason="demo: phished"))
            show_outcome(out, outcome)
            _show_attacker_locked_out(app, sandbox.urls, attack.token)
            _show_ticket(app, state_dir, outcome)
    if not outcome.ok:
        sys.exit(int(ExitCode.FAILURE))


def _show_attacker_locked_out(app: AppContext, urls: list[str], token: str) -> None:
    """Replays the attacker's stolen session on every server, as the web client would."""
    answers = [f"{url}: {_attacker_get_info(url, token)}" for url in urls]
    app.output.info("the attacker's session token, tried again: " + "; ".join(answers))


def _attacker_get_info(base_url: str, token: str) -> str:
    doc = {
        "Header": {"context": {"_jsns": "urn:zimbra", "authToken": token, "nosession": {}}},
        "Body": {"GetInfoRequest": {"_jsns": "urn:zimbraAccount"}},
    }
    request = urllib.request.Request(  # noqa: S310 - the sandbox's own loopback URL
        base_url.rstrip("/") + "/service/soap/",
        data=json.dumps(doc).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            json.loads(reply.read())
            return "still accepted"
    except urllib.error.HTTPError as err:
        with err:
            body = json.loads(err.read())["Body"]
        return "refused with " + str(body["Fault"]["Detail"]["Error"]["Code"])


def _show_ticket(app: AppContext, state_dir: Path, outcome: AccountOutcome) -> None:
    if not outcome.ticket or app.json:
        return
    for path in sorted((state_dir / "tickets").glob("*")):
        app.output.info("")
        app.output.info(f"help-desk ticket {path.name}:")
        app.output.info(path.read_text(encoding="utf-8"))
