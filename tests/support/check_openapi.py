#!/usr/bin/env python3
"""Validates recorded controller responses against the controller's own OpenAPI 3.1 document.

usage: check_openapi.py OPENAPI_JSON RECORDS_JSONL

Each line of RECORDS_JSONL is {"method", "path", "status", "content_type", "body"} (body: the raw
text). For each response the script finds the documented path (the reference's /patch/... paths
are the /v1/... ones) and method, then the response documented for its status (or "default"),
and validates the body with Debian's python3-jsonschema (Draft 2020-12, the dialect of OpenAPI
3.1), resolving "#/components/..." against the whole document. A 204 must have no body.

A response to an undocumented path or method fails unless it is a 404 or 405 (a test asking for
what does not exist on purpose). Prints one line per failure, and "N responses valid against the
OpenAPI document" at the end; exits 1 if anything failed or nothing was recorded.
"""
import json
import re
import sys

import jsonschema


def templates(doc):
    """[(regex, template)] with the most literal templates first."""
    out = []
    for template in doc["paths"]:
        parts = ["[^/]+" if re.fullmatch(r"\{[^/}]+\}", p) else re.escape(p) for p in template.split("/")]
        out.append((re.compile("^" + "/".join(parts) + "$"), template))
    out.sort(key=lambda t: (t[1].count("{"), -len(t[1])))
    return out


def find_template(compiled, path):
    path = path.split("?", 1)[0]
    if path.startswith("/patch/"):
        path = "/v1/" + path[len("/patch/"):]
    if path == "/patch":
        path = "/v1/"
    for regex, template in compiled:
        if regex.match(path):
            return template
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    records = []
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                records.append(json.loads(line))
    compiled = templates(doc)
    resolver = jsonschema.RefResolver.from_schema(doc)
    failures = []
    checked = 0
    for r in records:
        where = "%s %s -> %d" % (r["method"], r["path"], r["status"])
        template = find_template(compiled, r["path"])
        operation = doc["paths"].get(template, {}).get(r["method"].lower()) if template else None
        if operation is None:
            if r["status"] in (404, 405):
                continue
            failures.append("%s: no documented path and method answers this" % where)
            continue
        responses = operation.get("responses", {})
        response = responses.get(str(r["status"]))
        if response is None:
            if 200 <= r["status"] < 300:
                failures.append("%s: status %d is not documented for %s (documented: %s)"
                                % (where, r["status"], template, ", ".join(sorted(responses))))
                continue
            response = responses.get("default")
        if response is None:
            failures.append("%s: no response documented for status %d" % (where, r["status"]))
            continue
        content = response.get("content")
        if content is None:
            if r["body"]:
                failures.append("%s: documented without a body, but one came: %.200s" % (where, r["body"]))
            else:
                checked += 1
            continue
        media = content.get("application/json")
        if media is None or "application/json" not in (r.get("content_type") or ""):
            failures.append("%s: content type %r, documented %s" % (where, r.get("content_type"), ", ".join(content)))
            continue
        try:
            body = json.loads(r["body"])
        except ValueError as e:
            failures.append("%s: the body is not JSON (%s): %.200s" % (where, e, r["body"]))
            continue
        validator = jsonschema.Draft202012Validator(media["schema"], resolver=resolver)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            for e in errors[:5]:
                failures.append("%s: at %s: %s" % (where, "/".join(str(p) for p in e.absolute_path) or "(body)",
                                                  e.message[:300]))
            continue
        checked += 1
    for f in failures:
        print(f)
    if not records:
        print("no responses were recorded: nothing was checked")
        return 1
    print("%d responses valid against the OpenAPI document, %d invalid" % (checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
