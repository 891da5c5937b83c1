#!/usr/bin/env python3
"""Write the seed corpora of fuzz/corpus/<target>/ (a maintainer's tool; the
committed files are its output). Seeds come from the spec's vectors
(fixtures/vectors/vectors.json), the device profiles and scenarios of
fixtures/, and, when given, traces of a run (ota-conformance --trace), whose
messages are real device and cloud payloads. Each seed is small; a few per
target are enough for libFuzzer to start from.

usage: fuzz/make-corpus.py [TRACE.jsonl ...]
"""
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
PER_TARGET = 8


def put(target, data, seen={}):
    if isinstance(data, str):
        data = data.encode()
    names = seen.setdefault(target, set())
    if len(names) >= PER_TARGET:
        return
    name = "seed-" + hashlib.sha1(data).hexdigest()[:12]
    if name in names:
        return
    names.add(name)
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)


TOPIC_TARGETS = [("/ota/device/inform/", "inform"), ("/ota/device/progress/", "progress"),
                 ("/ota/device/upgrade/", "push"), ("/thing/ota/firmware/get_reply", "push"),
                 ("/thing/ota/firmware/get", "fw_get"), ("/thing/file/download_reply", "frame"),
                 ("/thing/file/download", "block_request")]


def target_of(topic):
    for part, target in TOPIC_TARGETS:
        if part in topic:
            return target
    return None


def from_vectors():
    v = json.load(open(os.path.join(ROOT, "fixtures", "vectors", "vectors.json")))
    for p in v["payloads_observed_on_the_wire"]:
        t = target_of(p["topic"])
        put(t, p["payload"])
        if t == "block_request":
            put("normalize", p["payload"])
        put("login", "\n\n\n" + p["topic"])
    for f in v["download_reply_frame"]:
        put("frame", bytes.fromhex(f["frame_hex"]))
        put("frame", f["header_json"])
    for lg in v["login"] + v["login_observed_on_the_wire"]:
        cid = lg.get("clientId") or lg.get("clientId_securemode3")
        pw = lg.get("password") or lg.get("password_hmacsha256")
        put("login", "%s\n%s\n%s\n/ota/device/inform/%s/%s" %
            (cid, lg["username"], pw, lg["productKey"], lg["deviceName"]))
    put("login", "a1B2c3D4e5F.dev-001|securemode=3|\ndev-001&a1B2c3D4e5F\n00\n#")
    put("normalize", '{"desc":"line\nbreak\ttab","a":[1,2,],}')


def from_fixtures():
    for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "devices", "*.json"))):
        put("profile", open(p, "rb").read())
    for p in sorted(glob.glob(os.path.join(ROOT, "fixtures", "scenarios", "*.json"))):
        put("scenario", open(p, "rb").read())
    for line in ["!READY fw=1.0.0 caps=inject-flash,reset,set-version", "@12 OK version=1.0%201",
                 "@3 ERR unsupported msg=no%3Dway", "@7 INJECT fault=flash-write",
                 "I (123) ota: downloading\r", "@1 OK bad=%zz%4"]:
        put("channel", line)


def from_trace(path):
    keep, frames = [], 0
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        t = target_of(r.get("topic", ""))
        if t and "payload_hex" in r:
            put(t, bytes.fromhex(r["payload_hex"]))
        elif t:
            put(t, r["payload"])
            if t == "block_request":
                put("normalize", r["payload"])
        if r["kind"] == "broker" and "payload" in r:
            ev = json.loads(r["payload"])
            put("login", "%s\n%s&%s\n\n/sys/%s/%s/thing/#" %
                (ev.get("client_id", ""), ev.get("dn", ""), ev.get("pk", ""), ev.get("pk", ""), ev.get("dn", "")))
        frames += "payload_hex" in r
        if len(keep) < 40 and ("payload_hex" not in r or frames == 1):
            keep.append(line.replace(ROOT, "/src"))
    put("trace", "".join(keep))


def main():
    from_vectors()
    from_fixtures()
    for p in sys.argv[1:]:
        from_trace(p)


if __name__ == "__main__":
    main()
