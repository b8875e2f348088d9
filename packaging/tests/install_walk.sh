#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside a fresh Debian 12 root (packaging/test-install.sh puts it there with the packages
# in /work/debs and the fixtures in /work/fixtures). Each step says what it checks.
set -euo pipefail
cd /work
step() { printf '\n-- %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
expect_mode() {  # expect_mode PATH "owner:group mode"
    local got
    got="$(stat -c '%U:%G %a' "$1")"
    [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local seconds="$1" what="$2"
    shift 2
    for _ in $(seq $((seconds * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "$what did not happen within $seconds s"
}

step "apt-get install ./debs/*.deb (plus python3 to play systemd, rpm to make a host's rpmdb)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ./debs/*.deb python3 rpm \
    >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; fail "apt-get install of the packages"; }
grep -E '^patch-(controller|agent):' /tmp/apt.log || true

step "what the maintainer scripts made"
getent passwd patching >/dev/null || fail "no user patching"
expect_mode /etc/patching/admin.token "root:patching 640"
expect_mode /etc/patching/enrolment.token "root:patching 640"
expect_mode /etc/patching/tokens "root:patching 640"
expect_mode /opt/patching "patching:patching 750"
expect_mode /var/www/pages/updates "patching:patching 755"
expect_mode /var/lib/patch-agent "root:root 700"
[ "$(wc -c </etc/patching/admin.token)" -eq 65 ] || fail "admin.token is not 64 hex digits and a newline"
dpkg-query -W -f='${Conffiles}\n' patching-controller patching-agent | grep -q patch-controller.conf ||
    fail "patch-controller.conf is not a conffile"
admin_sum="$(sha256sum </etc/patching/admin.token)"

step "an unconfigured controller exits 78 (RestartPreventExitStatus: no restart loop), naming the key"
rc=0
runuser -u patching -- /usr/sbin/patch-controller --config /etc/patching/patch-controller.conf >/tmp/c.out 2>&1 || rc=$?
cat /tmp/c.out
[ "$rc" -eq 78 ] || fail "exit $rc, expected 78"
grep -q running_release /tmp/c.out || fail "the message does not name running_release"

step "configure the controller: release 22.12, the fixtures' certificate, a base feed"
sed -i 's/^#running_release = 22.12/running_release = 22.12/' /etc/patching/patch-controller.conf
cp fixtures/keys/fixture-signing-cert.pem /etc/patching/trust/
install -d -o patching -g patching /var/www/pages/feed/rel-22.12/Packages
cp fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm /var/www/pages/feed/rel-22.12/Packages/

step "start patch-controller as its unit says (User=patching, Type=notify, watchdog at 2 s)"
python3 run_unit.py /lib/systemd/system/patch-controller.service --watchdog-sec 2 --pings 2 \
    --pid-file /run/controller.pid --log /tmp/controller.log || { cat /tmp/controller.log; fail "controller start"; }
[ "$(stat -c %U /proc/"$(cat /run/controller.pid)")" = patching ] || fail "the controller does not run as patching"

step "sw-patch (as root, the packaged admin token): upload and apply"
sw-patch upload fixtures/stx/FIX_22.12_PATCH_0001.patch
sw-patch apply FIX_22.12_PATCH_0001
sw-patch query

step "metrics: a metrics token reads /metrics"
metrics_token="$(patch-controller add-token prometheus metrics)"
expect_mode /etc/patching/tokens "root:patching 640"
python3 - "$metrics_token" <<'PY'
import sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:5487/metrics", headers={"Authorization": "Bearer " + sys.argv[1]})
text = urllib.request.urlopen(req, timeout=10).read().decode()
assert 'patching_api_requests_total{route="apply",status="200"} 1' in text, text
print("  /metrics: apply counted")
PY

step "a host: an rpmdb with the base release, and the agent configured to enrol itself"
mkdir -p /srv/host-root
rpm --root=/srv/host-root --initdb
rpm --root=/srv/host-root -i --nodeps fixtures/rpms/fixture-{alpha,beta,gamma}-1.0-1.noarch.rpm
cat >>/etc/patching/patch-agent.conf <<'CONF'
hostname = controller-0
sw_version = 22.12
controller_url = http://127.0.0.1:5487
enrolment_token_file = /etc/patching/enrolment.token
root = /srv/host-root
CONF
python3 run_unit.py /lib/systemd/system/patch-agent.service --pid-file /run/agent.pid --log /tmp/agent.log ||
    { cat /tmp/agent.log; fail "agent start"; }
wait_for 30 "controller-0 reporting" sh -c "sw-patch query-hosts | grep -q 'controller-0 .* 22.12'"
sw-patch query-hosts

step "host-install: the patch reaches Applied"
sw-patch host-install controller-0
rpm --root=/srv/host-root -q fixture-alpha-1.0-2 fixture-beta-1.0-2
wait_for 30 "the patch Applied" sh -c "sw-patch query | grep -q 'FIX_22.12_PATCH_0001 .*Applied'"
sw-patch query

step "SIGTERM: both daemons stop cleanly (exit 0)"
for d in agent controller; do
    pid="$(cat /run/$d.pid)"
    kill -TERM "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "$d still runs 20 s after SIGTERM"
    grep -q 'STOPPING=1' /tmp/$d.log || fail "$d did not say STOPPING=1"
done

step "reinstall keeps the edited conffile and the tokens"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall ./debs/patching-controller_*.deb >/tmp/apt2.log 2>&1 ||
    { tail -20 /tmp/apt2.log; fail "reinstall"; }
grep -q '^running_release = 22.12' /etc/patching/patch-controller.conf || fail "the edited configuration was replaced"
[ "$(sha256sum </etc/patching/admin.token)" = "$admin_sum" ] || fail "the admin token changed on reinstall"

step "remove keeps the state; purge deletes it"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq patching-controller patching-agent >/dev/null 2>&1
[ -d /opt/patching/packages ] || fail "remove deleted /opt/patching"
[ -e /etc/patching/admin.token ] || fail "remove deleted the admin token"
[ -e /var/lib/patch-agent ] || fail "remove deleted the agent's state"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq patching-controller patching-agent >/dev/null 2>&1
[ ! -e /opt/patching ] || fail "purge left /opt/patching"
[ ! -e /etc/patching/admin.token ] || fail "purge left the admin token"
[ ! -e /etc/patching/patch-controller.conf ] || fail "purge left the configuration"
[ ! -e /var/lib/patch-agent ] || fail "purge left the agent's state"
echo
echo "install walk: passed"
