#!/usr/bin/env python3
"""Every rule ID the tests name exists in the catalogue.

A test names its rules in C string literals (ct_check("FAIL-3", ...), the
catalogue's "VER-1 VER-7") and a scenario file in its "expect" block ("bound",
"rules"). A misspelt ID would otherwise be a MUST of no rule (or an unknown
bound) that nobody notices: this check fails on any ID that no
conformance/requirements/*.json defines, and names the file and line.

usage: rule_ids.py SOURCE_ROOT            check the tree
       rule_ids.py SOURCE_ROOT --selftest  prove the check fails on a misspelt ID
"""
import glob
import json
import os
import re
import shutil
import sys
import tempfile

# A rule ID: upper-case words joined by '-', ending in a number and an optional letter
# (VER-1, FAIL-3S, FAIL-2B, TP-LOGIN-1, IMG-2). "conformant" (the cost switches' rule)
# is not an ID and is not checked.
ID = re.compile(r"^[A-Z][A-Z]*(-[A-Z]+)*-[0-9]+[A-Z]?$")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def known_ids(root):
    ids = set()
    for path in glob.glob(os.path.join(root, "conformance/requirements/*.json")):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for rule in data.get("rules", []):
            ids.add(rule["id"])
    return ids


def ids_in(text):
    """The words of a literal when every word is ID-shaped (a rule list), else none."""
    words = text.split()
    if words and all(ID.match(w) for w in words):
        return words
    return []


def check(root):
    ids = known_ids(root)
    if not ids:
        return ["no rule IDs found in conformance/requirements/*.json"]
    bad = []
    for path in sorted(glob.glob(os.path.join(root, "conformance/src/*.[ch]"))):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.lstrip().startswith(("*", "/*", "//")):
                    continue
                for lit in LITERAL.findall(line):
                    for w in ids_in(lit):
                        if w not in ids:
                            bad.append(f"{os.path.relpath(path, root)}:{n}: unknown rule ID {w}")
    for path in sorted(glob.glob(os.path.join(root, "fixtures/scenarios/*.json"))):
        with open(path, encoding="utf-8") as f:
            expect = json.load(f).get("expect") or {}
        named = [expect.get("bound")] + list((expect.get("rules") or {}).values())
        for value in named:
            for w in (value or "").split():
                if w not in ids:
                    bad.append(f"{os.path.relpath(path, root)}: unknown rule ID {w}")
    return bad


def selftest(root):
    """The check must be able to fail: a copy of the tree with one misspelt ID in a test."""
    tmp = tempfile.mkdtemp(prefix="rule-ids-")
    try:
        for part in ("conformance/requirements", "conformance/src", "fixtures/scenarios"):
            shutil.copytree(os.path.join(root, part), os.path.join(tmp, part))
        if check(tmp):
            return ["the unchanged copy already fails"]
        with open(os.path.join(tmp, "conformance/src/t_misspelt.c"), "w") as f:
            f.write('void t(void) { ct_check("FAIL-33", 0, "x"); }\n')
        got = check(tmp)
        if not any("FAIL-33" in g for g in got):
            return ["a misspelt ID in a test was not caught"]
        os.remove(os.path.join(tmp, "conformance/src/t_misspelt.c"))
        path = os.path.join(tmp, "fixtures/scenarios/misspelt.json")
        with open(path, "w") as f:
            json.dump({"name": "misspelt", "expect": {"bound": "FINAL-1",
                                                      "rules": {"outcome": "FAIL-2X"}}}, f)
        got = check(tmp)
        if not any("FAIL-2X" in g for g in got):
            return ["a misspelt ID in a scenario was not caught"]
        return []
    finally:
        shutil.rmtree(tmp)


def main():
    root = sys.argv[1]
    bad = selftest(root) if sys.argv[2:] == ["--selftest"] else check(root)
    for b in bad:
        print(b)
    if bad:
        return 1
    print("rule IDs: every ID named by a test or scenario is in the catalogue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
