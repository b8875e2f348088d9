#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Driver of bench/jobs_bench.sh: talks to a controller's /v1/jobs over keep-alive HTTP.
#   jobs_bench.py create URL TOKEN N GROUP      creates N recurring jobs (none due for a day)
#   jobs_bench.py latency URL TOKEN GROUP        median/worst ms of create and of a list page
#   jobs_bench.py due URL TOKEN GROUP            a one-time job 3 s ahead: ms from its slot to its run
#   jobs_bench.py expand URL TOKEN GROUP         median ms of creating an hourly job that started two
#                                                years ago (the rule expanded over two years of slots)
#                                                and of one that starts now
import datetime
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(c, token, method, path, body=None):
    headers = {"Authorization": "Bearer " + token, "X-Patching-Client": "bench"}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    if r.status // 100 != 2:
        sys.exit(f"{method} {path}: {r.status} {text[:300]!r}")
    return json.loads(text) if text else None


RULES = ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=3;BYMINUTE=0", "FREQ=WEEKLY;BYDAY=SA,SU",
         "FREQ=MONTHLY;BYDAY=2TU", "FREQ=MONTHLY;BYMONTHDAY=1,15"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def job(i, group):
    start = (datetime.datetime.utcnow() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    return {"name": f"bench-{i:05d}", "start": start, "time_zone": ZONES[i % len(ZONES)],
            "rule": RULES[i % len(RULES)], "group": group, "max_concurrency": "10%"}


def create(url, token, n, group):
    def worker(k, threads):
        c = conn(url)
        for i in range(k, n, threads):
            call(c, token, "POST", "/v1/jobs", job(i, group))
    threads = [threading.Thread(target=worker, args=(k, 4)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def latency(url, token, group):
    c = conn(url)
    creates, lists = [], []
    for i in range(20):
        t0 = time.perf_counter()
        call(c, token, "POST", "/v1/jobs", job(90000 + i, group))
        creates.append((time.perf_counter() - t0) * 1000)
    for i in range(20):
        page = "" if i % 2 == 0 else "&page=bench-00100"
        t0 = time.perf_counter()
        body = call(c, token, "GET", "/v1/jobs?limit=50" + page)
        lists.append((time.perf_counter() - t0) * 1000)
        assert len(body["items"]) == 50
    print(f"create {statistics.median(creates):.1f} {max(creates):.1f}")
    print(f"list {statistics.median(lists):.1f} {max(lists):.1f}")


def due(url, token, group):
    c = conn(url)
    slot = int(time.time()) + 3
    start = datetime.datetime.utcfromtimestamp(slot).strftime("%Y-%m-%dT%H:%M:%S")
    call(c, token, "POST", "/v1/jobs", {"name": "due-now", "start": start, "time_zone": "UTC", "group": group})
    while True:
        runs = call(c, token, "GET", "/v1/jobs/due-now/runs")["items"]
        if runs:
            seen = time.time()
            break
        time.sleep(0.005)
    run = runs[0]
    wr = call(c, token, "GET", f"/v1/work-requests/{run['work_request_id']}") if run["work_request_id"] else {}
    print(f"due {(seen - slot) * 1000:.0f} {run['result']} {wr.get('status', '-')} {wr.get('counters', {}).get('total', 0)}")


def expand(url, token, group):
    c = conn(url)
    old, new = [], []
    now = datetime.datetime.utcnow()
    for i in range(10):
        for start, out, tag in ((now - datetime.timedelta(days=730), old, "old"), (now + datetime.timedelta(days=1), new, "new")):
            body = {"name": f"expand-{tag}-{i}", "start": start.strftime("%Y-%m-%dT%H:%M"), "time_zone": "UTC",
                    "rule": "FREQ=HOURLY", "group": group}
            t0 = time.perf_counter()
            call(c, token, "POST", "/v1/jobs", body)
            out.append((time.perf_counter() - t0) * 1000)
    print(f"expand {statistics.median(old):.1f} {statistics.median(new):.1f}")


if __name__ == "__main__":
    mode, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "create":
        create(url, token, int(sys.argv[4]), sys.argv[5])
    elif mode == "latency":
        latency(url, token, sys.argv[4])
    elif mode == "due":
        due(url, token, sys.argv[4])
    elif mode == "expand":
        expand(url, token, sys.argv[4])
