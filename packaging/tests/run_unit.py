#!/usr/bin/env python3
"""Starts a systemd service unit's ExecStart= as systemd would, on a machine where systemd is not
PID 1 (a chroot, a container): with the unit's User=, Group=, UMask= and Environment=, and a
NOTIFY_SOCKET this script listens on. It waits for READY=1 (TimeoutStartSec=), then, if the unit
has WatchdogSec=, for WATCHDOG=1 pings (the interval may be shortened with --watchdog-sec so a
test need not wait a minute). It prints each notification, leaves the daemon running, writes its
pid to --pid-file and keeps relaying notifications to --log until the daemon exits.

usage: run_unit.py UNIT_FILE --pid-file F --log F [--watchdog-sec S] [--pings N]
exit: 0 ready (and pinged), 1 the daemon exited or timed out first (its output is in --log)."""
import argparse
import configparser
import grp
import os
import pwd
import shlex
import socket
import sys
import tempfile
import time


def parse_seconds(text):
    """systemd time spans as our units write them: "90s", "5min", "30min", "60s" or "60"."""
    text = text.strip()
    for suffix, factor in (("min", 60), ("ms", 0.001), ("s", 1), ("h", 3600)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("unit")
    ap.add_argument("--pid-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--watchdog-sec", type=float)
    ap.add_argument("--pings", type=int, default=2)
    args = ap.parse_args()

    # Unit files are INI-like; ours have no repeated keys or continuation lines.
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str
    unit.read(args.unit)
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    user = service.get("User")
    group = service.get("Group")
    umask = int(service.get("UMask", "0022"), 8)
    start_timeout = parse_seconds(service.get("TimeoutStartSec", "90s"))
    watchdog = args.watchdog_sec if args.watchdog_sec else (
        parse_seconds(service["WatchdogSec"]) if "WatchdogSec" in service else None)

    sock_dir = tempfile.mkdtemp(prefix="notify-")
    sock_path = os.path.join(sock_dir, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "NOTIFY_SOCKET": sock_path}
    if user:
        pw = pwd.getpwnam(user)
        os.chown(sock_dir, pw.pw_uid, -1)
        os.chown(sock_path, pw.pw_uid, -1)
        env["HOME"] = pw.pw_dir
        env["USER"] = env["LOGNAME"] = user
    if watchdog:
        env["WATCHDOG_USEC"] = str(int(watchdog * 1_000_000))
    for assignment in shlex.split(service.get("Environment", "")):
        key, _, value = assignment.partition("=")
        env[key] = value

    log = open(args.log, "ab", buffering=0)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.umask(umask)
            if group:
                os.setgid(grp.getgrnam(group).gr_gid)
                os.setgroups([])
            if user:
                os.setuid(pwd.getpwnam(user).pw_uid)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            devnull = os.open("/dev/null", os.O_RDONLY)
            os.dup2(devnull, 0)
            os.execve(argv[0], argv, env)
        except Exception as e:  # noqa: BLE001 - report anything, in the child's log
            os.write(2, f"run_unit.py: cannot start {argv[0]}: {e}\n".encode())
            os._exit(127)
    with open(args.pid_file, "w", encoding="ascii") as f:
        f.write(f"{pid}\n")

    def receive(deadline):
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(f"run_unit.py: {argv[0]} exited with status {status >> 8} before it was ready (log: {args.log})")
                return None
            sock.settimeout(0.2)
            try:
                data = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            print("notify: " + data.replace("\n", " | "), flush=True)
            return data
        return ""

    ready_deadline = time.monotonic() + start_timeout
    while True:
        msg = receive(ready_deadline)
        if msg is None:
            return 1
        if msg == "":
            print(f"run_unit.py: no READY=1 within TimeoutStartSec ({start_timeout:.0f} s)")
            return 1
        if "READY=1" in msg.split("\n"):
            break
    if watchdog:
        pings = 0
        deadline = time.monotonic() + watchdog * (args.pings + 1)
        while pings < args.pings:
            msg = receive(deadline)
            if not msg:
                print(f"run_unit.py: {pings} WATCHDOG=1 pings within {watchdog * (args.pings + 1):.0f} s; "
                      f"expected {args.pings} (WatchdogSec={watchdog})")
                return 1
            if "WATCHDOG=1" in msg.split("\n"):
                pings += 1
    # Keep serving the socket in the background so later STATUS= messages don't block anyone.
    if os.fork() == 0:
        os.setsid()
        while True:
            try:
                os.kill(pid, 0)  # not our child: the daemon is this script's parent's
            except ProcessLookupError:
                os._exit(0)
            try:
                sock.settimeout(1)
                log.write(b"notify: " + sock.recv(4096) + b"\n")
            except socket.timeout:
                pass
            except OSError:
                os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
