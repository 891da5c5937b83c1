"""A small driver of headless Chromium over its DevTools protocol, on the
pipe Chromium opens with --remote-debugging-pipe (file descriptors 3 and 4,
messages ended by a NUL byte): no websocket library, no npm. One page (a
target attached in flat mode); every wait has a deadline."""
import base64
import json
import os
import select
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, binary="chromium", width=1360, height=900):
        self.profile = tempfile.mkdtemp(prefix="ota-console-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # the child's fd 3 reads our commands, fd 4 writes its answers
            a, b = os.dup(to_child_r), os.dup(from_child_w)  # neither may be 3 or 4 itself
            while a in (3, 4) or b in (3, 4):
                a, b = (os.dup(a) if a in (3, 4) else a), (os.dup(b) if b in (3, 4) else b)
            os.dup2(a, 3)
            os.dup2(b, 4)  # dup2 leaves both inheritable
        self.proc = subprocess.Popen(
            [binary] + FLAGS + ["--user-data-dir=" + self.profile,
                                "--window-size=%d,%d" % (width, height), "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []       # (method, params) of the page's session, in order
        self.requests = []     # every URL the page asked for (Network.requestWillBeSent)
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page.enable", "Network.enable", "Runtime.enable", "DOM.enable"):
            self.call(domain)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)
        subprocess.run(["rm", "-rf", self.profile], check=False)

    def _read(self, deadline):
        """One message from Chromium, or None when the deadline passes."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.from_child], [], [], left)
            if ready:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise CdpError("chromium closed its DevTools pipe (crashed?)")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def _note(self, msg):
        if msg.get("sessionId") != self.session:
            return
        self.events.append((msg["method"], msg.get("params", {})))
        if msg["method"] == "Network.requestWillBeSent":
            self.requests.append(msg["params"]["request"]["url"])

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            got = self._read(deadline)
            if got is None:
                raise CdpError("%s: no answer within %d s" % (method, timeout))
            if got.get("id") == self.next_id:
                if "error" in got:
                    raise CdpError("%s: %s" % (method, got["error"].get("message")))
                return got.get("result", {})
            if "method" in got:
                self._note(got)

    def pump(self, seconds=0.05):
        """Take the events that came meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            got = self._read(deadline)
            if got is None:
                return
            if "method" in got:
                self._note(got)

    def goto(self, url, timeout=30):
        self.call("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'", timeout)

    def js(self, expr, timeout=30):
        """The value of a JavaScript expression (a promise is awaited)."""
        res = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                             "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in res:
            raise CdpError("%s: %s" % (expr, res["exceptionDetails"].get("text")))
        return res["result"].get("value")

    def wait(self, expr, timeout=30, what=None):
        """Poll the expression until it is truthy: True, or CdpError at the deadline."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.js("!!(%s)" % expr)
            if last:
                return last
            self.pump(0.1)
        raise CdpError("%s not true within %g s (last: %r)" % (what or expr, timeout, last))

    def click(self, selector):
        ok = self.js("(function(){var e=document.querySelector(%s); if(!e) return false;"
                     " e.click(); return true;})()" % json.dumps(selector))
        if not ok:
            raise CdpError("nothing to click at " + selector)

    def fill(self, selector, value):
        ok = self.js("(function(){var e=document.querySelector(%s); if(!e) return false;"
                     " e.value=%s; e.dispatchEvent(new Event('input',{bubbles:true}));"
                     " e.dispatchEvent(new Event('change',{bubbles:true})); return true;})()"
                     % (json.dumps(selector), json.dumps(value)))
        if not ok:
            raise CdpError("no field at " + selector)

    def set_file(self, selector, path):
        doc = self.call("DOM.getDocument", {"depth": 0})
        node = self.call("DOM.querySelector", {"nodeId": doc["root"]["nodeId"],
                                               "selector": selector})
        if not node.get("nodeId"):
            raise CdpError("no file input at " + selector)
        self.call("DOM.setFileInputFiles", {"files": [path], "nodeId": node["nodeId"]})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png",
                                                    "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
