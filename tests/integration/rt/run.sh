#!/usr/bin/env bash
# `make test-integration`: start a real RT (start.sh), run the given command with its ZCOMP_RT_*
# variables, stop RT whatever happened. The command's exit status is the result; an RT that
# cannot be installed or started is a failure too (start.sh exits non-zero), never a skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${ZCOMP_RT_DIR:-${TMPDIR:-/tmp}/zcomp-rt}"
export ZCOMP_RT_DIR="$state"
trap 'bash "$here/stop.sh"' EXIT
started=$SECONDS
bash "$here/start.sh"
printf 'rt: started in %d s\n' "$((SECONDS - started))" >&2
# shellcheck source=/dev/null
. "$state/env"
"$@"
