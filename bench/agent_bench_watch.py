#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tight-loop watcher for bench/agent_bench.sh: polls the controller's REST API over one
keep-alive connection (sw-patch's host-install polls only every 0.5 s, too coarse to time).

  wait   [--hosts N] [--prefix P] [--current yes|no] [--no-interim] [--installed ok]
         [--patch ID=STATE ...] [--since EPOCH] [--timeout S]
         Returns once the host table (hosts whose name starts with P) has N hosts meeting every
         condition and each patch is in STATE; prints seconds since --since (default: start).
  install HOST... [--since-file F]
         POSTs host_install_async/HOST/force for each host, as fast as possible; writes the
         epoch time of the first request to F.
  time-install HOST [--timeout S] [--log AGENT_LOG]
         host_install_async/HOST/force, then watches HOST until its install_status is "ok" and
         it is current; prints "total_s phase:seconds_since_request ..." (first time each
         install phase was seen, then "reported"). With --log, the end is when the agent logs
         that the controller has the install's result (inotify wakes the watcher on each write
         to the log, so watching does not load the controller and the CPUs the install
         shares), and the host table is then checked once for "ok" and current.
Environment: SW_PATCH_CONTROLLER (http://IP:PORT), SW_PATCH_TOKEN_FILE.
"""
import argparse
import ctypes
import http.client
import json
import os
import select
import sys
import time
import urllib.parse


class Api:
    def __init__(self):
        url = urllib.parse.urlparse(os.environ["SW_PATCH_CONTROLLER"])
        self.host, self.port = url.hostname, url.port
        with open(os.environ["SW_PATCH_TOKEN_FILE"]) as f:
            self.headers = {"Authorization": "Bearer " + f.read().strip()}
        self.conn = None

    def call(self, method, path):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise SystemExit("%s %s: HTTP %d %s" % (method, path, r.status, body[:300]))
                return json.loads(body)
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def hosts_of(api, prefix):
    return [h for h in api.call("GET", "/v1/query_hosts")["data"] if h["hostname"].startswith(prefix)]


def cmd_wait(api, a):
    t0 = a.since if a.since else time.time()
    deadline = time.time() + a.timeout
    want = dict(p.split("=", 1) for p in a.patch)
    last = ""
    while True:
        hosts = hosts_of(api, a.prefix)
        ok = [h for h in hosts
              if (a.current is None or h["patch_current"] == (a.current == "yes"))
              and (not a.no_interim or not h["interim_state"])
              and (a.installed is None or h["install_status"] == a.installed)
              and not h.get("stale", False)]
        states = {}
        if want:
            pd = api.call("GET", "/v1/query")["pd"]
            states = {pid: pd.get(pid, {}).get("patchstate", "missing") for pid in want}
        if len(ok) >= a.hosts and len(hosts) >= a.hosts and states == want:
            print("%.3f" % (time.time() - t0))
            return 0
        last = "%d/%d hosts match, patch states %s" % (len(ok), a.hosts, states)
        if time.time() > deadline:
            print("timed out after %d s: %s" % (a.timeout, last), file=sys.stderr)
            return 1
        time.sleep(a.interval)


def cmd_install(api, a):
    first = time.time()
    for h in a.host:
        api.call("POST", "/v1/host_install_async/%s/force" % urllib.parse.quote(h))
    if a.since_file:
        with open(a.since_file, "w") as f:
            f.write("%.6f\n" % first)
    return 0


RESULT_LOGGED = ": the controller has the result ("


class FileWatch:
    """Wakes when a file is written to (inotify through ctypes), so that waiting costs no CPU;
    falls back to checking every 0.5 ms where inotify is not available."""
    IN_MODIFY = 0x2

    def __init__(self, path):
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, path.encode(), self.IN_MODIFY) >= 0:
                self.fd = fd
        except (OSError, AttributeError):
            pass

    def wait(self, timeout):
        if self.fd < 0:
            time.sleep(0.0005)
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            os.read(self.fd, 4096)


def time_install_by_log(api, a):
    with open(a.log, "rb") as f:
        f.seek(0, os.SEEK_END)
        offset = f.tell()
    watch = FileWatch(a.log)
    t0 = time.time()
    api.call("POST", "/v1/host_install_async/%s/force" % urllib.parse.quote(a.host))
    seen = b""
    with open(a.log, "rb") as f:
        f.seek(offset)
        while True:
            chunk = f.read()
            if chunk:
                seen += chunk
                if RESULT_LOGGED.encode() in seen:
                    total = time.time() - t0
                    break
            if time.time() - t0 > a.timeout:
                raise SystemExit("install on %s did not finish in %d s" % (a.host, a.timeout))
            watch.wait(0.1)
    line = [l for l in seen.decode(errors="replace").splitlines() if RESULT_LOGGED in l][0]
    if not line.endswith("(ok)"):
        raise SystemExit("install on %s: %s" % (a.host, line))
    for _ in range(100):
        h = [x for x in hosts_of(api, a.host) if x["hostname"] == a.host][0]
        if h["install_status"] == "ok" and h["patch_current"] and not h["install_pending"]:
            print("%.3f" % total)
            return 0
        time.sleep(0.01)
    raise SystemExit("the agent on %s says the controller has its result, but the host table shows %s" % (a.host, h))


def cmd_time_install(api, a):
    if a.log:
        return time_install_by_log(api, a)
    t0 = time.time()
    api.call("POST", "/v1/host_install_async/%s/force" % urllib.parse.quote(a.host))
    seen = {}
    while time.time() - t0 < a.timeout:
        h = [x for x in hosts_of(api, a.host) if x["hostname"] == a.host][0]
        phase = h.get("install_progress", {}).get("phase")
        if phase and phase not in seen:
            seen[phase] = time.time() - t0
        if h["install_status"] in ("failed", "rejected"):
            raise SystemExit("install on %s: %s %s" % (a.host, h["install_status"], h.get("failure_reason", "")))
        if h["install_status"] == "ok" and h["patch_current"] and not h["install_pending"]:
            total = time.time() - t0
            print("%.3f %s" % (total, " ".join("%s:%.3f" % kv for kv in seen.items())))
            return 0
        time.sleep(a.interval)
    raise SystemExit("install on %s did not finish in %d s" % (a.host, a.timeout))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("--hosts", type=int, default=1)
    w.add_argument("--prefix", default="")
    w.add_argument("--current", choices=["yes", "no"])
    w.add_argument("--no-interim", action="store_true")
    w.add_argument("--installed")
    w.add_argument("--patch", action="append", default=[])
    w.add_argument("--since", type=float)
    w.add_argument("--timeout", type=float, default=60)
    w.add_argument("--interval", type=float, default=0.01)
    i = sub.add_parser("install")
    i.add_argument("host", nargs="+")
    i.add_argument("--since-file")
    t = sub.add_parser("time-install")
    t.add_argument("host")
    t.add_argument("--timeout", type=float, default=120)
    t.add_argument("--interval", type=float, default=0.005)
    t.add_argument("--log")
    a = p.parse_args()
    api = Api()
    return {"wait": cmd_wait, "install": cmd_install, "time-install": cmd_time_install}[a.cmd](api, a)


if __name__ == "__main__":
    sys.exit(main())
