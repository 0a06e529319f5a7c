#!/usr/bin/env bash
# Start a throwaway Request Tracker 5 for `make test-integration`: Debian's packages, a SQLite
# database, RT's standalone server on 127.0.0.1. Everything but the packages lives in $ZCOMP_RT_DIR
# (default /tmp/zcomp-rt): config, database, logs, Mason cache, outgoing mail, pid, credentials.
# Idempotent: a second run stops the previous server and starts a fresh RT (new empty database).
# Fails loudly (non-zero, with RT's log) when RT cannot be installed or does not answer.
#
# It writes $ZCOMP_RT_DIR/env (shell assignments) for the tests:
#   ZCOMP_RT_URL, ZCOMP_RT_QUEUE, ZCOMP_RT_USER, ZCOMP_RT_PASSWORD_FILE, ZCOMP_RT_TOKEN_FILE,
#   ZCOMP_RT_NOBODY_USER and ZCOMP_RT_NOBODY_PASSWORD_FILE (a user with no rights),
#   ZCOMP_RT_CUSTOM_FIELD (a ticket custom field of the queue), ZCOMP_RT_OUTBOX (mail RT "sent").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="${ZCOMP_RT_DIR:-${TMPDIR:-/tmp}/zcomp-rt}"
queue="zcomp-test"
custom_field="zcomp key"
packages=(request-tracker5 rt5-db-sqlite)

say() { printf 'rt: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to install ${packages[*]}"; fi
}

installed() {
    local pkg
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q ' installed$' || return 1
    done
}

install_rt() {
    command -v apt-get >/dev/null || die "apt-get not found: this setup needs Debian (bookworm)"
    say "installing ${packages[*]} (Debian packages; a few minutes on a fresh machine)"
    # Debconf answers: no dbconfig-common database (it would build one in /var/lib with root's
    # password "password"; this script makes its own under $state) and no cron jobs. The other
    # questions (rtname, web URL, ...) only feed /etc/request-tracker5, which is not used here.
    as_root debconf-set-selections <<'PRESEED'
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/install-cronjobs boolean false
PRESEED
    # A fresh machine may be running unattended-upgrades: wait for the dpkg lock, do not fail.
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0
        -o DPkg::Lock::Timeout=600)
    # Stale or missing package lists (a fresh machine): update once, then try again.
    as_root "${apt[@]}" --no-install-recommends install "${packages[@]}" \
        || { as_root "${apt[@]}" update \
            && as_root "${apt[@]}" --no-install-recommends install "${packages[@]}"; } \
        || die "apt-get install ${packages[*]} failed"
}

installed || install_rt
installed || die "${packages[*]} still not installed"

bash "$here/stop.sh"  # a server left by an earlier run

# Only ever delete a directory this script made (ZCOMP_RT_DIR could name anything).
if [ -e "$state" ] && [ ! -e "$state/.zcomp-rt" ]; then
    die "$state exists and was not made by this script: remove it or set ZCOMP_RT_DIR"
fi
rm -rf "$state"
mkdir -p "$state"/{etc,etc/RT_SiteConfig.d,log,var,mason,sessions}
chmod 700 "$state"
touch "$state/.zcomp-rt"

port="${ZCOMP_RT_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
url="http://127.0.0.1:$port"

# Passwords: random per run, kept in files only (never on a command line).
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$state/root-password"
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$state/nobody-password"
chmod 600 "$state/root-password" "$state/nobody-password"

# Outgoing mail goes to a file: RT never reaches a real MTA from the tests.
cat >"$state/sendmail" <<SENDMAIL
#!/bin/sh
{ echo "From rt \$(date)"; cat; echo; } >>"$state/outbox"
SENDMAIL
chmod 755 "$state/sendmail"

# The whole site config: RT_SITE_CONFIG and RT_SITE_CONFIG_DIR replace /etc/request-tracker5's.
cat >"$state/etc/RT_SiteConfig.pm" <<CONFIG
Set(\$rtname, 'zcomp-test');
Set(\$Organization, 'zcomp.test');
Set(\$CorrespondAddress, 'rt@zcomp.test');
Set(\$CommentAddress, 'rt-comment@zcomp.test');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $port);
Set(\$WebPath, '');
Set(\$WebBaseURL, '$url');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$state/var/rt.sqlite');
Set(\$LogDir, '$state/log');
Set(\$LogToFile, 'info');
Set(\$LogToFileNamed, 'rt.log');
Set(\$LogToSyslog, undef);
Set(\$LogToSTDERR, 'error');
Set(\$MailCommand, 'sendmailpipe');
Set(\$SendmailPath, '$state/sendmail');
Set(\$SendmailArguments, '');
# Generated paths (package variables, not options): keep caches out of /var.
\$RT::VarPath = '$state/var';
\$RT::MasonDataDir = '$state/mason';
\$RT::MasonSessionDir = '$state/sessions';
1;
CONFIG

cat >"$state/rt-env" <<ENV
export RT_SITE_CONFIG='$state/etc/RT_SiteConfig.pm'
export RT_SITE_CONFIG_DIR='$state/etc/RT_SiteConfig.d'
ENV
# shellcheck source=/dev/null
. "$state/rt-env"

say "creating the database in $state/var"
/usr/sbin/rt-setup-database-5 --action init --force \
    --root-password-file "$state/root-password" >"$state/log/setup-database.log" 2>&1 \
    || { tail -n 40 "$state/log/setup-database.log" >&2; die "rt-setup-database failed"; }

# The queue and its custom field, an auth token for root, a user without rights (403 test).
perl -I/usr/share/request-tracker5/lib "$here/setup.pl" "$state" "$queue" "$custom_field" \
    >"$state/log/setup.log" 2>&1 || { cat "$state/log/setup.log" >&2; die "setup.pl failed"; }

say "starting RT on $url"
setsid /usr/share/request-tracker5/libexec/rt-server --server Starlet --max-workers 2 \
    --host 127.0.0.1 --port "$port" >"$state/log/server.log" 2>&1 </dev/null &
echo $! >"$state/rt-server.pid"

# Wait until REST2 answers an authenticated request (RT loads slowly on a cold cache).
if ! python3 - "$url" "$state" <<'WAIT'
import base64, sys, time, urllib.request, os
url, state = sys.argv[1], sys.argv[2]
password = open(f"{state}/root-password").read().strip()
auth = base64.b64encode(f"root:{password}".encode()).decode()
pid = int(open(f"{state}/rt-server.pid").read())
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the server exited")
    request = urllib.request.Request(f"{url}/REST/2.0/rt", headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            if reply.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("no answer in 120 s")
WAIT
then
    tail -n 40 "$state/log/server.log" >&2
    bash "$here/stop.sh"
    die "RT did not answer on $url"
fi

cat >"$state/env" <<ENV
export ZCOMP_RT_URL='$url'
export ZCOMP_RT_QUEUE='$queue'
export ZCOMP_RT_USER='root'
export ZCOMP_RT_PASSWORD_FILE='$state/root-password'
export ZCOMP_RT_TOKEN_FILE='$state/root-token'
export ZCOMP_RT_NOBODY_USER='zcomp-nobody'
export ZCOMP_RT_NOBODY_PASSWORD_FILE='$state/nobody-password'
export ZCOMP_RT_CUSTOM_FIELD='$custom_field'
export ZCOMP_RT_OUTBOX='$state/outbox'
ENV
say "RT is up on $url (state in $state)"
