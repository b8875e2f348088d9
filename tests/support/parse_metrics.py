#!/usr/bin/env python3
"""Parses a Prometheus text exposition (the file given) with the Prometheus project's own Python
parser, and prints every sample as JSON: [{"name":..., "labels":{...}, "value":...}, ...].
A malformed exposition raises, and the test that ran this fails with the parser's message."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append({"name": s.name, "labels": dict(s.labels), "value": s.value, "type": family.type})
json.dump(samples, sys.stdout)
