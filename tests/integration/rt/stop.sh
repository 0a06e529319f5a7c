#!/usr/bin/env bash
# Stop the RT server that start.sh started (its process group). Idempotent: no server, no error.
# The state directory is kept for a look at the logs; start.sh replaces it.
set -euo pipefail
state="${ZCOMP_RT_DIR:-${TMPDIR:-/tmp}/zcomp-rt}"
pidfile="$state/rt-server.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
rm -f "$pidfile"
# start.sh ran the server under setsid: its pid is the group id of the server and its workers.
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    printf 'rt: stopped the server (pid %s)\n' "$pid" >&2
fi
