#!/usr/bin/env bash
# Stop the private Postfix that start.sh started (only that instance: its own config
# directory). Idempotent: no instance, no error. The state directory is kept for its log.
set -euo pipefail
state="${ZCOMP_POSTFIX_DIR:-${TMPDIR:-/tmp}/zcomp-postfix}"
[ -f "$state/etc/main.cf" ] || exit 0
command -v postfix >/dev/null || exit 0
if postfix -c "$state/etc" status >/dev/null 2>&1; then
    postfix -c "$state/etc" stop >/dev/null 2>&1 || postfix -c "$state/etc" abort || true
    printf 'postfix: stopped the private instance in %s\n' "$state" >&2
fi
