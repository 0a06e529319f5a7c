"""`zcomp scan` on a generated day of logs (1 GB mailbox.log, 1 GB zimbra.log), next to pflogsumm.

The day comes from tests/bench/loggen.py (seeded, cached: generated once per size and seed under
$TMPDIR/zcomp-bench-scan/ or --dir). In one run, one after the other on the same files:

* ``python -m zcomp scan --mailbox-log mailbox.log --json``   >= 200 MB/s, peak memory < 200 MB
* ``python -m zcomp scan --mta-log zimbra.log --json``        >= 100 MB/s, peak memory < 200 MB
* ``pflogsumm -u 50 -h 50 zimbra.log`` (what zmdailyreport runs), for the ratio zcomp/pflogsumm

Each is a child process: wall time from start to exit, MB/s = file size / wall time, peak memory =
the child's with its scan workers (tests/bench/peak.py), sampled from /proc while it runs. Each
input is read through just before its command runs, so it is in the page cache: the figures are
parsing speed, not disk speed. The CPU column (user + system time of the child and its workers)
shows how much of the wall time went to other work on a shared machine. zcomp's JSON must rank
the planted phished accounts first (found/expected is printed). Exits non-zero, with one line
saying why, when zcomp scan or pflogsumm is missing, a child fails, a target is missed or a
phished account is not found.

    python -m tests.bench.bench_scan [--size-mb N] [--dir DIR] [--seed S] [--regenerate]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.bench import loggen
from tests.bench.peak import PeakWatcher
from tests.bench.report import figure

MAILBOX_TARGET_MBS = 200.0
MTA_TARGET_MBS = 100.0
RSS_TARGET_MB = 200.0
PFLOGSUMM_ARGS = ("-u", "50", "-h", "50")  # zmdailyreport's limits


@dataclass(frozen=True)
class Run:
    label: str
    size: int
    seconds: float
    cpu: float  # user + system seconds of the child
    peak_rss: int  # bytes
    returncode: int
    stdout: Path
    stderr: str

    @property
    def mbs(self) -> float:
        return self.size / 1e6 / self.seconds if self.seconds > 0 else float("inf")


def measure(label: str, argv: Sequence[str], size: int, out: Path) -> Run:
    """Run argv to completion: wall time, CPU (wait4) and peak memory (tests/bench/peak.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZCOMP_")}
    env["ZCOMP_STATE_DIR"] = str(out.parent / "state")
    with out.open("wb") as stdout, tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        child = subprocess.Popen(  # noqa: S603 - our own CLI and pflogsumm
            list(argv), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env
        )
        watcher = PeakWatcher(child)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        peak_kib = watcher.wait()
        stderr.seek(0)
        err = stderr.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    # Not ru_maxrss (which starts from the parent's): see tests/bench/peak.py.
    return Run(label, size, seconds, cpu, peak_kib * 1024, child.returncode, out, err)


def warm(path: Path) -> None:
    """Read the file through once, right before it is measured. This VM's kernel reclaims cold
    page-cache pages on its own (DAMON): a file read a minute ago may be partly on disk again
    (fincore showed 914 of 954 MB resident), and the figure is parsing speed, not disk speed."""
    buf = bytearray(16 << 20)
    with path.open("rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass


def scan_available() -> str | None:
    """None when `python -m zcomp scan` exists, else why not (one line)."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "zcomp", "scan", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return None
    lines = [x.strip() for x in (done.stderr + done.stdout).splitlines() if x.strip()]
    why = lines[-1] if lines else "no output"
    return f"`python -m zcomp scan` is not available (exit {done.returncode}: {why})"


def find_pflogsumm() -> str:
    """pflogsumm's path; installs Debian's package when missing and we are root, else fails."""
    found = shutil.which("pflogsumm")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("pflogsumm not found: apt-get install -y pflogsumm", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "pflogsumm"],
            stdout=subprocess.DEVNULL,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("pflogsumm")
        if found:
            return found
    raise SystemExit(
        "bench_scan: FAILED: pflogsumm not found (Debian package pflogsumm: "
        "apt-get install -y pflogsumm); the zcomp/pflogsumm ratio cannot be measured"
    )


def logs(directory: Path, size_mb: int, seed: int, regenerate: bool) -> loggen.Generated:
    """The generated day, reused when directory already holds it for this size and seed."""
    manifest = directory / "loggen.json"
    if manifest.exists() and not regenerate:
        data = json.loads(manifest.read_text())
        mbx, zl = directory / "mailbox.log", directory / "zimbra.log"
        if (
            data.get("version") == loggen.GENERATOR_VERSION
            and data.get("seed") == seed
            and mbx.exists()
            and zl.exists()
            and mbx.stat().st_size == data.get("mailbox_bytes")
            and zl.stat().st_size == data.get("zimbra_bytes")
            and abs(mbx.stat().st_size - size_mb * loggen.MB) < loggen.MB
        ):
            print(f"reusing {directory} (delete it or pass --regenerate to write it again)")
            return loggen.Generated(
                mailbox_log=mbx,
                zimbra_log=zl,
                mailbox_bytes=data["mailbox_bytes"],
                zimbra_bytes=data["zimbra_bytes"],
                mailbox_lines=data["mailbox_lines"],
                zimbra_lines=data["zimbra_lines"],
                seconds=data["seconds"],
                seed=seed,
                planted=tuple(
                    loggen.Planted(**{**p, "settings_changed": tuple(p["settings_changed"])})
                    for p in data["planted"]
                ),
                decoys=tuple(data["decoys"]),
                mix=data.get("mix", {}),
            )
    print(f"generating {size_mb} MB mailbox.log + {size_mb} MB zimbra.log in {directory} ...")
    gen = loggen.generate(directory, size_mb * loggen.MB, size_mb * loggen.MB, seed=seed)
    total = (gen.mailbox_bytes + gen.zimbra_bytes) / 1e6
    print(
        f"  written in {gen.seconds:.1f} s ({total / gen.seconds:.0f} MB/s for both files; "
        f"CPU {gen.mix.get('mailbox_cpu_s')} s mailbox.log, {gen.mix.get('zimbra_cpu_s')} s "
        "zimbra.log)"
    )
    return gen


def ranked_accounts(stdout: Path) -> list[str]:
    """Accounts in zcomp's order: JSON lines (one object per account) or one JSON document."""
    text = stdout.read_text(errors="replace")
    items: list[object] = []
    try:
        doc = json.loads(text)
    except ValueError:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    items.append(json.loads(line))
                except ValueError:
                    continue
    else:
        if isinstance(doc, dict):
            for key in ("suspects", "accounts", "results", "ranking"):
                if isinstance(doc.get(key), list):
                    items = list(doc[key])
                    break
            else:
                items = [doc]
        elif isinstance(doc, list):
            items = list(doc)
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in ("account", "name", "email", "user"):
            value = item.get(key)
            if isinstance(value, str) and value not in out:
                out.append(value)
                break
    return out


def pflogsumm_totals(stdout: Path) -> str:
    """pflogsumm's received/delivered grand totals (delivered counts every internal hop)."""
    found: dict[str, str] = {}
    for line in stdout.read_text(errors="replace").splitlines()[:40]:
        m = re.match(r"^\s*(\d+[km]?)\s+(received|delivered)\s*$", line)
        if m:
            found[m.group(2)] = m.group(1)
    return ", ".join(f"{k} {v}" for k, v in found.items())


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_scan")
    ap.add_argument("--size-mb", type=int, default=1000, help="size of each log (default 1000)")
    ap.add_argument("--dir", type=Path, help="where the generated logs are kept (reused)")
    ap.add_argument("--seed", type=int, default=20240315)
    ap.add_argument("--regenerate", action="store_true", help="write the logs again")
    args = ap.parse_args(list(argv) if argv is not None else [])
    directory = args.dir or Path(tempfile.gettempdir()) / "zcomp-bench-scan" / (
        f"{args.size_mb}mb-seed{args.seed}-v{loggen.GENERATOR_VERSION}"
    )
    missing_scan = scan_available()
    pflogsumm = find_pflogsumm()
    gen = logs(directory, args.size_mb, args.seed, args.regenerate)
    print(f"planted phished accounts: {', '.join(gen.phished)}")

    failures: list[str] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "state").mkdir()
        zcomp = [sys.executable, "-m", "zcomp", "scan"]
        plan: list[tuple[str, list[str], Path, int, str]] = []
        if missing_scan is None:
            plan += [
                (
                    "zcomp scan --mailbox-log",
                    [*zcomp, "--mailbox-log", str(gen.mailbox_log), "--json"],
                    gen.mailbox_log,
                    gen.mailbox_bytes,
                    "mailbox",
                ),
                (
                    "zcomp scan --mta-log",
                    [*zcomp, "--mta-log", str(gen.zimbra_log), "--json"],
                    gen.zimbra_log,
                    gen.zimbra_bytes,
                    "mta",
                ),
            ]
        plan.append(
            (
                "pflogsumm -u 50 -h 50",
                [pflogsumm, *PFLOGSUMM_ARGS, str(gen.zimbra_log)],
                gen.zimbra_log,
                gen.zimbra_bytes,
                "pflogsumm",
            )
        )
        for label, cmd, path, size, key in plan:
            print(f"running {label} ...", flush=True)
            warm(path)
            run = measure(label, cmd, size, work / f"{key}.out")
            if key != "pflogsumm" and run.returncode == 1:
                # zcomp scan's exit status 1 means "suspects found": what it should say here.
                run = dataclasses.replace(run, returncode=0)
            runs.append(run)
            if run.returncode != 0:
                tail = run.stderr.strip().splitlines()[-1:] or ["no stderr"]
                failures.append(f"{label} exited {run.returncode}: {tail[0]}")

        print()
        head = (
            f"{'input':<12} {'command':<26} {'size MB':>8} {'seconds':>8} {'CPU s':>7} {'MB/s':>8}"
        )
        print(f"{head} {'peak MB':>12}  target")
        by_key = dict(zip([k for *_, k in plan], runs, strict=True))
        for key, run in by_key.items():
            name = "mailbox.log" if key == "mailbox" else "zimbra.log"
            rss = run.peak_rss / 1e6
            target = ""
            if key != "pflogsumm":
                want = MAILBOX_TARGET_MBS if key == "mailbox" else MTA_TARGET_MBS
                ok = run.mbs >= want and rss < RSS_TARGET_MB
                target = (
                    f">= {want:.0f} MB/s, < {RSS_TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}"
                )
                if not ok and run.returncode == 0:
                    failures.append(
                        f"{run.label}: {run.mbs:.0f} MB/s, {rss:.0f} MB peak (target >= {want:.0f} "
                        f"MB/s, < {RSS_TARGET_MB:.0f} MB)"
                    )
            if run.returncode == 0:
                unit_target = None
                if key != "pflogsumm":
                    unit_target = f">= {want:.0f}"
                    figure(f"{key}_peak_mb", f"scan {name} peak memory", rss, "MB", "< 200")
                figure(f"{key}_mbs", f"{run.label} {name}", run.mbs, "MB/s", unit_target)
            print(
                f"{name:<12} {run.label:<26} {run.size / 1e6:8.0f} {run.seconds:8.2f} "
                f"{run.cpu:7.2f} {run.mbs:8.1f} {rss:12.1f}  {target}"
            )
        pf = by_key["pflogsumm"]
        if pf.returncode == 0:
            print(
                f"pflogsumm totals: {pflogsumm_totals(pf.stdout)} (delivered counts internal hops)"
            )
        mta = by_key.get("mta")
        if mta is not None and mta.returncode == 0 and pf.returncode == 0:
            figure("pflogsumm_ratio", "scan zimbra.log speed / pflogsumm's", mta.mbs / pf.mbs, "x")
            print(
                f"ratio zcomp/pflogsumm on the same zimbra.log: {mta.mbs / pf.mbs:.1f}x "
                f"({mta.mbs:.1f} vs {pf.mbs:.1f} MB/s)"
            )
        for key in ("mailbox", "mta"):
            scanned = by_key.get(key)
            if scanned is None or scanned.returncode != 0:
                continue
            run = scanned
            got = ranked_accounts(run.stdout)
            top = got[: len(gen.phished)]
            found = [a for a in gen.phished if a in top]
            print(
                f"{run.label}: phished accounts ranked first: {len(found)}/{len(gen.phished)} "
                f"(expected {', '.join(gen.phished)}; "
                f"top of the JSON: {', '.join(top) or 'nothing'})"
            )
            if len(found) != len(gen.phished):
                failures.append(
                    f"{run.label}: {len(found)}/{len(gen.phished)} phished ranked first"
                )
    if missing_scan is not None:
        failures.insert(0, missing_scan)
    if failures:
        raise SystemExit("bench_scan: FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main(sys.argv[1:])
