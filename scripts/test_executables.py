"""Reads `cargo test --no-run --message-format=json` on stdin and prints one line per test
executable, tab-separated: its name, its package's folder, its path. A package's library
and binary may share a name: their unit tests are lib:<name> and bin:<name>; an
integration test keeps its own name. Used by scripts/test-tiers.sh."""

import json
import os
import sys

for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if not m["profile"]["test"]:
        continue
    kind = m["target"]["kind"][0]
    name = m["target"]["name"] if kind == "test" else kind + ":" + m["target"]["name"]
    print(name, os.path.dirname(m["manifest_path"]), m["executable"], sep="\t")
