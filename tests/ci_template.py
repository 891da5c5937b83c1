#!/usr/bin/env python3
"""Reads a CI template of ci/templates/ (GitHub Actions, GitLab CI, or a LAVA test
definition) and prints what one job runs, so tests/templates.sh and
tests/lab_templates.sh can run it against the reference device.

Only the subset of YAML the templates use is understood: block mappings, `- `
lists, `run: |` block scalars and plain one-line values. A template that leaves
that subset is an error here, on purpose: the templates stay easy to read.

A LAVA test definition has one job, `run`: its steps; `install` is its install
steps; its artifacts are the files its ota-conformance command writes.

usage: ci_template.py FILE JOB commands   # the job's shell lines, install steps left out
       ci_template.py FILE JOB install    # the install steps' lines (run by hand, as root)
       ci_template.py FILE JOB artifacts  # the files the job publishes (JUnit first)
"""
import sys

INSTALL_STEPS = ("Install ota-conformance",)


def indent(line):
    return len(line) - len(line.lstrip(" "))


def block(lines, i, parent):
    """Lines after index i indented deeper than `parent`, and the next index."""
    out = []
    while i < len(lines) and (not lines[i].strip() or indent(lines[i]) > parent):
        out.append(lines[i])
        i += 1
    return out, i


def value(line):
    v = line.split(":", 1)[1].strip()
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"" else v


def job_lines(lines, key, parent_indent):
    for i, line in enumerate(lines):
        if line.strip() == key + ":" and indent(line) == parent_indent:
            return block(lines, i + 1, parent_indent)[0]
    sys.exit(f"ci_template: no job '{key}'")


def github(lines, job, what):
    body = job_lines(lines, job, 2)
    cmds, install, arts, step = [], [], [], ""
    i = 0
    while i < len(body):
        line, s = body[i], body[i].strip()
        i += 1
        if s.startswith("- name:") or s.startswith("- uses:"):
            step = value(s[2:]) if s.startswith("- name:") else ""
        if s.startswith("run:") or s.startswith("path:") or s.startswith("report_paths:"):
            v = value(s)
            if v == "|":
                sub, i = block(body, i, indent(line))
                vals = [x.strip() for x in sub if x.strip()]
            else:
                vals = [v]
            if s.startswith("run:"):
                (install if step in INSTALL_STEPS else cmds).extend(vals)
            else:
                arts.extend(vals)
    arts.sort(key=lambda a: not a.endswith(".xml"))
    return {"commands": cmds, "install": install, "artifacts": list(dict.fromkeys(arts))}[what]


def gitlab(lines, job, what):
    body = job_lines(lines, job, 0)
    out = {"commands": [], "install": [], "artifacts": []}
    section = None
    for line in body:
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.endswith(":") and not s.startswith("- "):
            section = {"script:": "commands", "before_script:": "install",
                       "paths:": "artifacts"}.get(s)
            continue
        if s.startswith("junit:"):
            out["artifacts"].insert(0, value(s))
        elif s.startswith("- ") and section:
            out[section].append(s[2:])
        elif indent(line) <= 2:
            section = None
    return out[what]


def lava(lines, job, what):
    if job != "run":
        sys.exit(f"ci_template: a LAVA test definition has one job, 'run', not '{job}'")

    def steps(section):
        body = job_lines(lines, section, 0)
        out, inside = [], False
        for line in body:
            s = line.strip()
            if s == "steps:":
                inside = True
            elif inside and s.startswith("- "):
                out.append(s[2:])
            elif s and not s.startswith("#"):
                inside = False
        return out

    if what == "install":
        return steps("install")
    cmds = steps("run")
    if what == "commands":
        return cmds
    arts = []
    for c in cmds:
        words = c.split()
        for flag in ("--junit", "--html", "--trace"):
            if flag in words[:-1]:
                arts.append(words[words.index(flag) + 1])
    return arts


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("commands", "install", "artifacts"):
        sys.exit(__doc__)
    path, job, what = sys.argv[1:]
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    kind = (github if any(l.startswith("jobs:") for l in lines)
            else lava if any(l.startswith("metadata:") for l in lines) else gitlab)
    items = kind(lines, job, what)
    if not items:
        sys.exit(f"ci_template: job '{job}' of {path} has no {what}")
    print("\n".join(items))


if __name__ == "__main__":
    main()
