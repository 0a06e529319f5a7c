#!/usr/bin/env bash
# Start a private Postfix (Debian's `postfix` package, installed with apt if missing) for
# `make test-integration`: its own config_directory and queue_directory under
# $ZCOMP_POSTFIX_DIR (default /tmp/zcomp-postfix), smtpd on a free 127.0.0.1 port, every
# message relayed to a local SMTP sink the tests start, smtpd_milters pointing at a guard the
# tests start, milter_default_action = accept (docs/guard.md). The system's own Postfix, if
# any, is neither used nor touched. Fails loudly (non-zero, with Postfix's log) when Postfix
# cannot be installed or does not answer: never a skip.
#
# It writes $ZCOMP_POSTFIX_DIR/env for the tests:
#   ZCOMP_POSTFIX_CONFIG (config_directory, for postqueue/postcat -c), ZCOMP_POSTFIX_SMTP_PORT,
#   ZCOMP_POSTFIX_SINK_PORT (relayhost), ZCOMP_POSTFIX_GUARD_PORT (smtpd_milters),
#   ZCOMP_POSTFIX_LOG (maillog_file).
set -euo pipefail

state="${ZCOMP_POSTFIX_DIR:-${TMPDIR:-/tmp}/zcomp-postfix}"
here="$(cd "$(dirname "$0")" && pwd)"

say() { printf 'postfix: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to install and run postfix"; fi
}

installed() {
    dpkg-query -W -f='${Status}\n' postfix 2>/dev/null | grep -q ' installed$'
}

install_postfix() {
    command -v apt-get >/dev/null || die "apt-get not found: this setup needs Debian"
    say "installing postfix (Debian package, \"Local only\")"
    as_root debconf-set-selections <<'PRESEED'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string zcomp.test
PRESEED
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0
        -o DPkg::Lock::Timeout=600)
    as_root "${apt[@]}" --no-install-recommends install postfix \
        || { as_root "${apt[@]}" update \
            && as_root "${apt[@]}" --no-install-recommends install postfix; } \
        || die "apt-get install postfix failed"
}

installed || install_postfix
installed || die "postfix still not installed"
[ "$(id -u)" -eq 0 ] || die "the private Postfix instance must be started as root"

bash "$here/stop.sh"  # an instance left by an earlier run

# Only ever delete a directory this script made.
if [ -e "$state" ] && [ ! -e "$state/.zcomp-postfix" ]; then
    die "$state exists and was not made by this script: remove it or set ZCOMP_POSTFIX_DIR"
fi
rm -rf "$state"
mkdir -p "$state"/{etc,spool,data,log}
touch "$state/.zcomp-postfix"
chown postfix "$state/data"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
smtp_port="$(free_port)"
sink_port="$(free_port)"
guard_port="$(free_port)"

# main.cf: nothing is delivered locally; everything goes to the sink through the milter.
cat >"$state/etc/main.cf" <<MAIN
compatibility_level = 3.6
queue_directory = $state/spool
data_directory = $state/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta1.zcomp.test
mydomain = zcomp.test
myorigin = zcomp.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$sink_port
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtputf8_enable = no
biff = no
# Retry the sink soon when a test starts it late.
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s
# The guard (docs/guard.md): a guard that is down or broken must not stop mail.
smtpd_milters = inet:127.0.0.1:$guard_port
non_smtpd_milters =
milter_default_action = accept
milter_protocol = 6
milter_connect_timeout = 5s
maillog_file_prefixes = $state/log
maillog_file = $state/log/maillog
MAIN

# master.cf: the services a relay-only instance needs, none chrooted (the queue is in /tmp).
cat >"$state/etc/master.cf" <<MASTER
127.0.0.1:$smtp_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER

say "starting a private Postfix in $state (smtpd on 127.0.0.1:$smtp_port)"
# Postfix writes its fatal errors to stderr only on a terminal: `script` gives it one.
postfix_cmd() {
    if command -v script >/dev/null; then
        script -qec "postfix -c '$state/etc' $*" /dev/null
    else
        postfix -c "$state/etc" "$@"
    fi
}
if ! postfix_cmd check >"$state/log/check.log" 2>&1; then
    cat "$state/log/check.log" >&2
    die "postfix check failed"
fi
if ! postfix_cmd start >"$state/log/start.log" 2>&1; then
    cat "$state/log/start.log" >&2
    [ -f "$state/log/maillog" ] && tail -n 40 "$state/log/maillog" >&2
    die "postfix start failed"
fi

# Wait until smtpd answers with its banner.
if ! python3 - "$smtp_port" <<'WAIT'
import socket, sys, time
port = int(sys.argv[1])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            if s.recv(100).startswith(b"220"):
                s.sendall(b"QUIT\r\n")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("no SMTP banner in 60 s")
WAIT
then
    [ -f "$state/log/maillog" ] && tail -n 40 "$state/log/maillog" >&2
    bash "$here/stop.sh"
    die "Postfix did not answer on 127.0.0.1:$smtp_port"
fi

cat >"$state/env" <<ENV
export ZCOMP_POSTFIX_CONFIG='$state/etc'
export ZCOMP_POSTFIX_SMTP_PORT='$smtp_port'
export ZCOMP_POSTFIX_SINK_PORT='$sink_port'
export ZCOMP_POSTFIX_GUARD_PORT='$guard_port'
export ZCOMP_POSTFIX_LOG='$state/log/maillog'
ENV
say "Postfix is up on 127.0.0.1:$smtp_port (state in $state)"
