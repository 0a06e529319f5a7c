"""Many accounts at once: workers in parallel, each with its own Environment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from zcomp.core.environment import Environment
from zcomp.core.outcome import AccountOutcome, error_of
from zcomp.exitcodes import CredentialError, ExitCode, ZcompError
from zcomp.zimbra.errors import ZimbraAuthError

Work = Callable[[Environment, str], AccountOutcome]


def guarded(work: Work, env: Environment, account: str) -> AccountOutcome:
    """One account's failure, whatever it is, becomes its outcome; the batch goes on."""
    try:
        return work(env, account)
    except (ZimbraAuthError, CredentialError):
        # The admin login itself failed: stop, rather than retry it once per account (and
        # trip Zimbra's password lockout for the admin).
        raise
    except ZcompError as exc:
        error = error_of(exc)
    except Exception as exc:  # noqa: BLE001 - a bug hit by one account must not stop the others
        error = {"code": "internal-error", "message": f"{type(exc).__name__}: {exc}", "exit": 1}
    return AccountOutcome(account=account, result="failed", error=error)


def run_accounts(
    accounts: Sequence[str],
    make_env: Callable[[], Environment],
    work: Work,
    *,
    workers: int,
    on_done: Callable[[AccountOutcome], None] = lambda _o: None,
) -> list[AccountOutcome]:
    """Run `work` for every account; a failing account never stops the others.

    Results come back in input order; `on_done` sees each as it finishes (main thread).
    """
    if len(accounts) <= 1 or workers <= 1:
        env = make_env()
        outcomes = []
        for account in accounts:
            outcome = guarded(work, env, account)
            on_done(outcome)
            outcomes.append(outcome)
        return outcomes

    local = threading.local()
    made: list[Environment] = []
    lock = threading.Lock()

    def run_one(account: str) -> AccountOutcome:
        env = getattr(local, "env", None)
        if env is None:
            env = make_env()
            local.env = env
            with lock:
                made.append(env)
        return guarded(work, env, account)

    results: dict[int, AccountOutcome] = {}
    pool = ThreadPoolExecutor(max_workers=min(workers, len(accounts)), thread_name_prefix="zcomp")
    try:
        futures = {pool.submit(run_one, account): i for i, account in enumerate(accounts)}
        for future in as_completed(futures):
            outcome = future.result()
            results[futures[future]] = outcome
            on_done(outcome)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(accounts))]


def exit_status(outcomes: Sequence[AccountOutcome]) -> ExitCode:
    """0 all done; one account: its own failure status; a batch with failures: 6."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return ExitCode.OK
    if len(outcomes) == 1:
        return ExitCode(int((failed[0].error or {}).get("exit", ExitCode.FAILURE)))
    return ExitCode.PARTIAL
