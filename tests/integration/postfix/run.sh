#!/usr/bin/env bash
# `make test-integration`: start the private Postfix (start.sh), run the given command with its
# ZCOMP_POSTFIX_* variables, stop Postfix whatever happened. The command's exit status is the
# result; a Postfix that cannot be installed or started is a failure too, never a skip.
# It wraps other run.sh scripts: `run.sh bash ../rt/run.sh pytest ...` starts both servers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${ZCOMP_POSTFIX_DIR:-${TMPDIR:-/tmp}/zcomp-postfix}"
export ZCOMP_POSTFIX_DIR="$state"
trap 'bash "$here/stop.sh"' EXIT
started=$SECONDS
bash "$here/start.sh"
printf 'postfix: started in %d s\n' "$((SECONDS - started))" >&2
# shellcheck source=/dev/null
. "$state/env"
"$@"
