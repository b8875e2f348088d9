#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Sends requests the way the reference sw-patch client does (python3-requests, uploads as a
requests_toolbelt MultipartEncoder form with one field `file` named after the path given), with
no client header of ours, and prints each answer as JSON: [{"status", "text", "sent": headers}].

Input on stdin: a JSON list of {"method", "path", "upload": file (optional), "headers": {}}.
This is a test driver, not the reference client: it reproduces its requests, nothing else."""
import json
import sys

import requests
from requests_toolbelt import MultipartEncoder


def main():
    base = sys.argv[1]
    answers = []
    for req in json.load(sys.stdin):
        headers = dict(req.get("headers", {}))
        if "upload" in req:
            enc = MultipartEncoder(fields={"file": (req["upload"], open(req["upload"], "rb"))})
            headers["Content-Type"] = enc.content_type
            r = requests.post(base + req["path"], data=enc, headers=headers)
        else:
            r = requests.request(req["method"], base + req["path"], headers=headers)
        answers.append({"status": r.status_code, "text": r.text, "sent": dict(r.request.headers)})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
