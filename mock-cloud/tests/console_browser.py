#!/usr/bin/env python3
"""The console of ota-mock-cloud in a real browser (headless Chromium from
Debian, driven over its DevTools pipe by cdp.py). One scenario per run:

  flow   upload a firmware file in the page, start a batch for two reference
         devices with a package for source version 1.0.0: the one at 1.0.0
         reaches 100 % and succeeded, the one at 1.2.0 is listed as skipped
         with the reason; then a batch under http-corrupt shows failed, step
         -3 and the device's desc, and the job's timeline outlines the report;
         no request of the page leaves its origin
  fleet  1,000 ota-fleet devices: the device panel loads and pages in under 2 s
  token  a daemon on a non-loopback address refuses the API without its token
         (401, counted in the trace, no CORS header) and the page works with it

usage: console_browser.py BIN_DIR SOURCE_DIR SCREENSHOT_DIR SCENARIO
A screenshot of each state goes to SCREENSHOT_DIR. Exit 0 pass, 1 fail."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

BIN, SRC, SHOTS, SCENARIO = sys.argv[1:5]
FX = os.path.join(SRC, "fixtures")
WORK = tempfile.mkdtemp(prefix="ota-console-")
PROCS = []


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def start(args, log, env=None):
    p = subprocess.Popen(args, stdout=open(os.path.join(WORK, log), "ab"),
                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
    PROCS.append(p)
    return p


def start_daemon(*extra):
    log = os.path.join(WORK, "daemon.log")
    start([os.path.join(BIN, "ota-mock-cloud"), "--devices", os.path.join(FX, "devices"),
           "--scenarios", os.path.join(FX, "scenarios"), "--firmware-dir",
           os.path.join(WORK, "store"), "--job-timeout", "120"] + list(extra), "daemon.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = open(log).read()
        api = re.search(r"^  API    (http://\S+)", text, re.M)
        mqtt = re.search(r"^  MQTT   (\d+)", text, re.M)
        console = re.search(r"^  console (http://\S+)", text, re.M)
        if api and mqtt and console:
            return api.group(1), int(mqtt.group(1)), console.group(1)
        time.sleep(0.05)
    raise Fail("ota-mock-cloud did not start: " + open(log).read()[-2000:])


def call(method, url, body=None, token=None, raw=False):
    """(status, JSON or text, headers) of one request to the API."""
    data = body if raw else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text, headers = r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        status, text, headers = e.code, e.read().decode(), e.headers
    try:
        return status, json.loads(text), headers
    except ValueError:
        return status, text, headers


def start_device(mport, name, secret, version):
    state = os.path.join(WORK, "state-" + name)
    os.makedirs(state, exist_ok=True)
    env = dict(os.environ, OTA_DIALECT="aliyun", OTA_MQTT_HOST="127.0.0.1",
               OTA_MQTT_PORT=str(mport), OTA_MQTT_TLS="0", OTA_PRODUCT_KEY="a1RefProd01",
               OTA_DEVICE_NAME=name, OTA_DEVICE_SECRET=secret, OTA_MODULE="default",
               OTA_FIRMWARE_VERSION=version, OTA_STATE_DIR=state)
    # A reboot is an exit with status 0: the loop starts it again, as a board's power does.
    start(["sh", "-c", 'while "$0" --no-channel; do :; done',
           os.path.join(BIN, "ota-ref-device")], "device-%s.log" % name, env)


def await_api(url, pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        status, last, _ = call("GET", url)
        if status == 200 and pred(last):
            return last
        time.sleep(0.1)
    raise Fail("%s within %d s (last: %s)" % (what, timeout, str(last)[:500]))


def shot(b, name):
    os.makedirs(SHOTS, exist_ok=True)
    b.screenshot(os.path.join(SHOTS, "console-%s.png" % name))


def origin_only(b, origin):
    b.pump(0.2)
    outside = [u for u in b.requests
               if not (u.startswith(origin + "/") or u == origin or u.startswith("data:"))]
    check(b.requests, "no request of the page was seen (is the Network domain on?)")
    check(not outside, "the page asked for something outside %s: %s" % (origin, outside[:5]))
    return len(b.requests)


def batch_row(b, job):
    return b.js("(function(){var r=document.querySelector('#b-jobs tr[data-job=\"%d\"]');"
                " if(!r) return null; return {state:r.getAttribute('data-state'),"
                " pct:r.querySelector('.pct').getAttribute('data-pct'),"
                " step:r.querySelector('.step').textContent,"
                " desc:r.querySelector('.desc').textContent};})()" % job)


def scenario_flow():
    api, mport, console = start_daemon()
    origin = api.rstrip("/")
    status, _, _ = call("POST", api + "/devices", {
        "productKey": "a1RefProd01", "deviceName": "ref-device-02",
        "deviceSecret": "00112233445566778899aabbccddeeff", "firmwareVersion": "1.2.0"})
    check(status == 201 or status == 200, "POST /devices for ref-device-02: %s" % status)
    start_device(mport, "ref-device-01", "0123456789abcdef0123456789abcdef", "1.0.0")
    start_device(mport, "ref-device-02", "00112233445566778899aabbccddeeff", "1.2.0")
    await_api(api + "/devices", lambda ds: all(d["reportedVersion"] for d in ds
                                               if d["deviceName"] in ("ref-device-01",
                                                                      "ref-device-02")),
              "both reference devices report their versions")
    image = os.path.join(WORK, "app-2.0.0.bin")
    with open(image, "wb") as f:
        f.write(os.urandom(200 * 1024))

    b = cdp.Browser()
    try:
        b.goto(console)
        b.wait("document.body.getAttribute('data-ready') === '1'", 20, "the page is ready")
        b.wait("document.querySelectorAll('#dev-rows tr[data-device]').length >= 2", 10)
        b.wait("document.getElementById('live').className === 'on'", 10, "the event stream is live")
        shot(b, "1-devices")

        # The package: a real file, target 2.0.0, for source version 1.0.0 only.
        b.click('nav button[data-tab="firmware"]')
        b.set_file("#fw-file", image)
        b.fill("#fw-version", "2.0.0")
        b.fill("#fw-sources", "1.0.0")
        b.click("#fw-upload")
        b.wait("document.querySelector('#fw-rows tr[data-firmware]')", 30, "the package is listed")
        status, fws, _ = call("GET", api + "/firmware")
        check(len(fws) == 1 and fws[0]["size"] == 200 * 1024 and fws[0]["sources"] == ["1.0.0"],
              "GET /firmware after the upload: %s" % fws)
        shot(b, "2-firmware")

        # A batch for both devices: 01 (at 1.0.0) is pushed, 02 (at 1.2.0) skipped with the reason.
        b.click('nav button[data-tab="devices"]')
        b.wait("document.querySelector('#dev-rows tr[data-device=\"ref-device-02\"]')", 10)
        b.click('#dev-rows tr[data-device="ref-device-01"]')
        b.click('#dev-rows tr[data-device="ref-device-02"]')
        b.click("#dev-batch")
        b.wait("document.getElementById('batches').classList.contains('on')", 5)
        b.fill("#b-fw", str(fws[0]["id"]))
        b.click("#b-start")
        b.wait("document.querySelector('#b-jobs tr[data-job]')", 15, "the batch's job row")
        job = b.js("parseInt(document.querySelector('#b-jobs tr[data-job]').getAttribute('data-job'))")
        b.wait("(function(){var r=document.querySelector('#b-jobs tr[data-job=\"%d\"]');"
               " return r && r.getAttribute('data-state')==='succeeded'"
               " && r.querySelector('.pct').getAttribute('data-pct')==='100';})()" % job, 60,
               "the reference device's row shows 100 % and succeeded")
        rows = b.js("document.querySelectorAll('#b-jobs tr[data-job]').length")
        check(rows == 1, "the batch pushed to %s devices, not 1" % rows)
        skipped = b.js("(function(){var s=document.querySelector('li[data-skipped=\"ref-device-02\"]');"
                       " return s ? s.textContent : null;})()")
        check(skipped and "1.2.0" in skipped and "not a source version" in skipped,
              "ref-device-02 is not listed as skipped with the reason: %r" % skipped)
        status, job_json, _ = call("GET", api + "/jobs/%d" % job)
        check(job_json["state"] == "SUCCEEDED" and job_json.get("firmware") == fws[0]["id"],
              "job %d: %s" % (job, job_json))
        shot(b, "3-batch-succeeded-and-skipped")

        # A second package (any source version) under http-corrupt: failed, -3, the desc.
        b.click('nav button[data-tab="firmware"]')
        b.set_file("#fw-file", image)
        b.fill("#fw-version", "3.0.0")
        b.fill("#fw-sources", "")
        b.fill("#fw-sign", "sha256")
        b.click("#fw-upload")
        b.wait("document.querySelectorAll('#fw-rows tr[data-firmware]').length === 2", 30)
        b.click('nav button[data-tab="devices"]')
        b.click("#dev-clear")
        b.wait("document.querySelector('#dev-rows tr[data-device=\"ref-device-01\"]')", 10)
        b.click('#dev-rows tr[data-device="ref-device-01"]')
        b.click("#dev-batch")
        status, fws, _ = call("GET", api + "/firmware")
        b.fill("#b-fw", str(fws[1]["id"]))
        b.fill("#b-plan", "http-corrupt")
        b.click("#b-start")
        b.wait("(function(){var r=document.querySelector('#b-jobs tr[data-job]');"
               " return r && parseInt(r.getAttribute('data-job')) > %d;})()" % job, 15)
        job2 = b.js("parseInt(document.querySelector('#b-jobs tr[data-job]').getAttribute('data-job'))")
        b.wait("(function(){var r=document.querySelector('#b-jobs tr[data-job=\"%d\"]');"
               " return r && r.getAttribute('data-state')==='failed';})()" % job2, 60,
               "the corrupt batch's row shows failed")
        row = batch_row(b, job2)
        check(row["step"].strip() == "-3", "the failed row's step: %r" % row)
        check("mismatch" in row["desc"], "the failed row does not show the device's desc: %r" % row)
        # The batch list's row says what the detail says (both from one answer of the cloud).
        chips = b.js("document.querySelector('#b-rows tr.sel td.chips').textContent")
        check("failed 1" in chips and "pending 1" not in chips,
              "the batch list's row disagrees with its detail (failed): %r" % chips)
        shot(b, "4-batch-failed")

        # Its timeline outlines the failing report.
        b.click('#b-jobs button[data-tl="%d"]' % job2)
        b.wait("document.querySelector('#tl-rows tr.offending')", 15, "an outlined row in the timeline")
        text = b.js("document.querySelector('#tl-rows tr.offending').textContent")
        check('"-3"' in text, "the outlined row is not the -3 report: %r" % text)
        kinds = b.js("Array.prototype.map.call(document.querySelectorAll('#tl-rows tr'),"
                     " function(r){return r.getAttribute('data-kind');}).join(' ')")
        for k in ("cloud", "mqtt-out", "http", "fault", "mqtt-in"):
            check(k in kinds.split(), "the timeline has no %s row: %s" % (k, kinds))
        shot(b, "5-timeline")
        # A device's timeline: ref-device-02 got no job, only its own messages.
        b.fill("#tl-job", "")
        b.fill("#tl-dev", "ref-device-02")
        b.click("#tl-show")
        b.wait("document.getElementById('tl-title').textContent.indexOf('device ref-device-02') === 0"
               " && document.querySelector('#tl-rows tr[data-kind=\"mqtt-in\"]')", 15,
               "ref-device-02's timeline")
        check(b.js("document.querySelectorAll('#tl-rows tr.offending').length") == 0,
              "a device's timeline without a failed job outlines a row")
        n = origin_only(b, origin)
        print("the page made %d requests, all to %s" % (n, origin))
    finally:
        b.close()


def scenario_fleet():
    api, _, console = start_daemon("--quiet")
    hostport = api.split("//", 1)[1].rstrip("/")
    start([os.path.join(BIN, "ota-fleet"), "--cloud", hostport, "--devices", "1000",
           "--transport", "http", "--size", "4096", "--quiet", "--timeout", "120"], "fleet.log")
    await_api(api + "/devices?limit=1", lambda p: p["total"] >= 1000,
              "the fleet registered 1000 devices", 120)
    b = cdp.Browser()
    try:
        t0 = time.monotonic()
        b.goto(console)
        b.wait("parseInt(document.body.getAttribute('data-devices-total')) >= 1000"
               " && document.querySelectorAll('#dev-rows tr[data-device]').length === 50", 10,
               "the device panel shows 50 of 1000 devices")
        load = time.monotonic() - t0
        b.wait("document.body.getAttribute('data-ready') === '1'", 10, "the page is ready")
        t1 = time.monotonic()
        b.click("#dev-next")
        b.wait("document.getElementById('dev-page').textContent.indexOf('51–100 of') === 0", 10,
               "the second page")
        page = time.monotonic() - t1
        b.fill("#dev-q", "fleet-00999")
        b.wait("document.querySelectorAll('#dev-rows tr[data-device]').length === 1", 10,
               "the filter finds one device")
        b.fill("#dev-q", "")
        b.wait("document.querySelectorAll('#dev-rows tr[data-device]').length === 50", 10)
        shot(b, "6-fleet-devices")
        print("1000 fleet devices: page loaded in %.2f s, next page in %.2f s" % (load, page))
        check(load < 2.0, "the device panel took %.2f s to load (limit 2 s)" % load)
        check(page < 2.0, "the next page took %.2f s (limit 2 s)" % page)
        origin_only(b, api.rstrip("/"))
    finally:
        b.close()


def scenario_token():
    api, _, console = start_daemon("--listen", "0.0.0.0")
    m = re.search(r"#token=([0-9a-f]+)$", console)
    check(m, "no token printed with the console URL for a non-loopback listen: " + console)
    token = m.group(1)
    origin = api.rstrip("/")
    status, body, headers = call("GET", api + "/devices")
    check(status == 401 and "token" in body.get("error", ""), "no token: %s %s" % (status, body))
    check(headers.get("Access-Control-Allow-Origin") is None, "a CORS header was sent")
    status, body, _ = call("GET", api + "/devices", token="wrong-token-123")
    check(status == 401, "a wrong token: %s" % status)
    status, body, _ = call("POST", api + "/firmware?version=9", b"x" * 1000, raw=True)
    check(status == 401, "an upload without the token: %s" % status)
    status, body, headers = call("OPTIONS", api + "/jobs")
    check(status == 401 and headers.get("Access-Control-Allow-Origin") is None,
          "a CORS preflight must get nothing: %s %s" % (status, headers))
    status, body, _ = call("GET", api + "/devices", token=token)
    check(status == 200 and isinstance(body, list), "with the token: %s" % status)
    # The API's other clients send $OTA_API_TOKEN: ota-fleet --cloud here (libotamock's join alike).
    hostport = api.split("//", 1)[1].rstrip("/")
    fleet = [os.path.join(BIN, "ota-fleet"), "--cloud", hostport, "--devices", "5", "--transport",
             "http", "--size", "2048", "--quiet", "--timeout", "60", "--prefix", "tok-"]
    env = dict(os.environ)
    env.pop("OTA_API_TOKEN", None)
    without = subprocess.run(fleet, env=env, capture_output=True, text=True, timeout=120)
    check(without.returncode != 0, "ota-fleet without OTA_API_TOKEN was let in")
    env["OTA_API_TOKEN"] = token
    with_token = subprocess.run(fleet, env=env, capture_output=True, text=True, timeout=120)
    check(with_token.returncode == 0, "ota-fleet with OTA_API_TOKEN: %s" % with_token.stdout[-800:]
          + with_token.stderr[-800:])
    status, trace, _ = call("GET", api + "/trace", token=token)
    refused = re.findall(r"control API: 401 .*?\((\d+) refused so far\)", trace)
    check(refused and int(refused[-1]) >= 4, "the 401s are not counted in the trace: %s" % refused)

    b = cdp.Browser()
    try:
        b.goto(origin + "/")
        b.wait("document.getElementById('msg').textContent.indexOf('401') >= 0", 15,
               "the page without the token says 401")
        b.wait("document.getElementById('live').textContent === 'needs the API token'", 10,
               "the page without the token stops asking")
        shot(b, "7-token-missing")
        b.goto("about:blank")
        b.goto(console)
        b.wait("document.body.getAttribute('data-ready') === '1'"
               " && document.querySelectorAll('#dev-rows tr[data-device]').length >= 1", 15,
               "the page with the token lists the devices")
        b.wait("document.getElementById('live').className === 'on'", 10, "the event stream")
        check(b.js("document.getElementById('msg').textContent") == "",
              "the page with the token shows an error")
        cookies = b.call("Network.getCookies", {"urls": [origin + "/"]})["cookies"]
        check(not cookies, "the console set cookies: %s" % cookies)
        shot(b, "8-token-given")
        origin_only(b, origin)
    finally:
        b.close()


def main():
    code = 1
    try:
        {"flow": scenario_flow, "fleet": scenario_fleet, "token": scenario_token}[SCENARIO]()
        print("PASS console_browser %s (screenshots in %s)" % (SCENARIO, SHOTS))
        code = 0
    except (Fail, cdp.CdpError) as e:
        print("FAIL: %s" % e)
        for name in sorted(os.listdir(WORK)):
            if name.endswith(".log"):
                print("--- %s" % name)
                print("".join(open(os.path.join(WORK, name), errors="replace").readlines()[-25:]))
    finally:
        for p in PROCS:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                pass
        for p in PROCS:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait()
        subprocess.run(["rm", "-rf", WORK], check=False)
    sys.exit(code)


if __name__ == "__main__":
    main()
