#!/usr/bin/python3
"""`torchllm serve` against hostile and careless clients, on loopback, bounded in count and time.

Usage: serve_hostile_test.py TORCHLLM MAKE_TINY_CHECKPOINT

Each check names the item of the hardening issue it covers. After every group the server must still answer
/health: no input may take it down.
"""
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

TORCHLLM, MAKE_CHECKPOINT = sys.argv[1], sys.argv[2]
WORK = tempfile.mkdtemp(prefix="torchllm-hostile-")
failures = []


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)
    if not condition:
        failures.append(name)


class Server:
    def __init__(self, model, *args, env=None):
        self.log_path = os.path.join(WORK, f"server-{random.randrange(1 << 30)}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TORCHLLM, "serve", "-m", model, "--device", "cpu", "--port", "0", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            m = re.search(rb"listening on http://[^:]+:(\d+)", open(self.log_path, "rb").read())
            if m and self.port is None:
                self.port = int(m.group(1))
            if self.port and self.status("GET", "/health")[0] == 200:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("server did not start: " + open(self.log_path, "rb").read().decode(errors="replace"))

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict(r.getheaders()), data

    def status(self, method, path, body=None, headers=None):
        try:
            return self.request(method, path, body, headers, timeout=5)
        except OSError as e:
            return -1, {}, str(e).encode()

    def alive(self):
        return self.proc.poll() is None and self.status("GET", "/health")[0] == 200

    def rss_mb(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def metric(self, name):
        text = self.request("GET", "/metrics")[2].decode()
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
        return float(m.group(1)) if m else 0.0

    def log_text(self):
        self.log.flush()
        return open(self.log_path, "rb").read().decode(errors="replace")

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.log.close()
        return rc


def raw(port, data, timeout=5.0, shut=False, read=True):
    """Sends bytes on a fresh connection; returns everything the server sends until it closes or time runs out."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    end = time.time() + timeout
    while read and time.time() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def status_of(response):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", response)
    return int(m.group(1)) if m else -1


def chat(content="Hello", **extra):
    body = {"messages": [{"role": "user", "content": content}], "max_tokens": 4}
    body.update(extra)
    return json.dumps(body)


def make_models():
    model = os.path.join(WORK, "tiny-chat")
    os.makedirs(model)
    subprocess.run([MAKE_CHECKPOINT, "qwen3-chat", model], check=True, stdout=subprocess.DEVNULL)
    long_model = os.path.join(WORK, "long", "tiny-chat")
    shutil.copytree(model, long_model)
    config_path = os.path.join(long_model, "config.json")
    config = json.load(open(config_path))
    config["max_position_embeddings"] = 16384
    json.dump(config, open(config_path, "w"))
    return model, long_model


def deep_bodies():
    n = 100000
    nested_list = "[" * n + "]" * n
    nested_object = '{"a":' * n + "1" + "}" * n
    return {
        "tool_calls": ("/v1/chat/completions", '{"messages": [{"role": "assistant", "content": "x", "tool_calls": '
                       + nested_list + '}]}'),
        "content": ("/v1/chat/completions", '{"messages": [{"role": "user", "content": ' + nested_object + '}]}'),
        "chat_template_kwargs": ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "x"}], '
                                 '"chat_template_kwargs": ' + nested_object + '}'),
        "tokenize prompt": ("/tokenize", '{"prompt": ' + nested_list + '}'),
    }


def fuzz_bodies(rng, count):
    """Random JSON-ish bodies: nested, oversized, truncated, wrong types, invalid UTF-8."""
    pieces = ['{"messages": ', "[", "{", '"role": "user", "content": ', '"x"', "]", "}", ",", ":", "null", "1e999",
              '"\\ud800"', "\xff\xfe", '"tool_calls": ', '"n": 64', '"max_tokens": -1', '"stop": ["', "true"]
    for _ in range(count):
        kind = rng.randrange(4)
        if kind == 0:
            depth = rng.choice([10, 63, 64, 65, 1000, 50000])
            opener = rng.choice(["[", '{"a":'])
            yield '{"messages": [{"role": "user", "content": ' + opener * depth
        elif kind == 1:
            yield "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60)))
        elif kind == 2:
            yield chat("y" * rng.randrange(0, 5000), n=rng.randrange(-2, 70))
        else:
            body = chat(rng.choice(["a", "é", "\u2ffc"]))
            cut = rng.randrange(len(body) + 1)
            yield body[:cut] + "".join(chr(rng.randrange(0, 256)) for _ in range(rng.randrange(4)))


def main():
    model, long_model = make_models()

    # --- nesting, fuzz, limits, protocol: one server with a key ------------------------------------------------
    key = "hostile-key"
    s = Server(model, "--api-key", key, "--parallel", "2", "--max-queue", "4", "--max-body-bytes", "4000000",
               "--cors-origin", "http://allowed.example", "--allowed-host", "myhost.test")
    auth = {"Authorization": "Bearer " + key}
    for name, (path, body) in deep_bodies().items():
        st, _, data = s.status("POST", path, body, auth)
        check(f"deep nesting in {name}: 400", st == 400 and b"deeper than" in data, f"{st} {data[:200]}")
    check("alive after deep nesting", s.alive())

    rng = random.Random(1234)
    statuses = {}
    for body in fuzz_bodies(rng, 150):
        st = s.status("POST", "/v1/chat/completions", body.encode("latin-1", errors="replace"), auth)[0]
        statuses[st] = statuses.get(st, 0) + 1
    check("fuzz: 150 random bodies answered 200/400, never a crash or 500",
          set(statuses) <= {200, 400} and s.alive(), str(statuses))

    # Chunked body of 100 MB: refused once it passes the limit, long before the end.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key.encode()
                 + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    sent = 0
    start = time.time()
    try:
        for _ in range(100):
            sock.sendall(chunk)
            sent += 1
    except OSError:
        pass
    response = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            response += part
    except OSError:
        pass
    sock.close()
    check("100 MB chunked body: 413 before the end", status_of(response) == 413 and sent < 100,
          f"{response[:100]} after {sent} MB")
    check("chunked refusal is quick", time.time() - start < 10)

    gz = raw(s.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key.encode()
             + b"\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n"
             + b"\x1f\x8b" + b"\0" * 18)
    check("gzip body: 415", status_of(gz) == 415, gz[:200])
    start = time.time()
    nokey = raw(s.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                b"\r\nContent-Length: 3000000\r\n\r\n", timeout=5)
    check("wrong key: 401 from the headers, before the body", status_of(nokey) == 401 and time.time() - start < 2,
          nokey[:200])
    for length in [b"-1", b"abc"]:
        start = time.time()
        r = raw(s.port, b"POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + b"\r\n\r\n")
        check(f"Content-Length {length.decode()}: 400 at once", status_of(r) == 400 and time.time() - start < 2)
    start = time.time()
    r = raw(s.port, b"POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 900000000\r\n\r\n")
    check("Content-Length over the limit: 413 at once", status_of(r) == 413 and time.time() - start < 2, r[:100])

    # DNS rebinding and simple requests.
    check("foreign Host: 403", s.status("GET", "/health", headers={"Host": "evil.example"})[0] == 403)
    check("Host localhost:port", s.status("GET", "/health", headers={"Host": f"localhost:{s.port}"})[0] == 200)
    check("--allowed-host", s.status("GET", "/health", headers={"Host": "myhost.test"})[0] == 200)
    st, _, data = s.status("POST", "/v1/chat/completions", chat(), {**auth, "Content-Type": "text/plain"})
    check("text/plain body: 415", st == 415, data[:200])
    check("foreign Origin: 403",
          s.status("POST", "/v1/chat/completions", chat(), {**auth, "Origin": "http://evil.example"})[0] == 403)
    check("allowed Origin: 200",
          s.status("POST", "/v1/chat/completions", chat(), {**auth, "Origin": "http://allowed.example"})[0] == 200)
    check("same Origin: 200", s.status("GET", "/v1/models", headers={
        **auth, "Origin": f"http://127.0.0.1:{s.port}"})[0] == 200)

    # Pipelining, half-close, HTTP/1.0.
    one = (b"POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "
           + key.encode() + b"\r\nContent-Length: 16\r\n\r\n{\"prompt\": \"ab\"}")
    r = raw(s.port, one + one.replace(b'"ab"', b'"cd"') + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            timeout=5)
    check("pipelined requests: each answered, in order",
          r.count(b"HTTP/1.1 200") == 2 and r.count(b"HTTP/1.1 403") == 1 and r.find(b'"count"') < r.find(b"403"),
          r[:400])
    body = chat(max_tokens=3).encode()
    r = raw(s.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body, shut=True)
    check("half-closed client gets its response", status_of(r) == 200 and b'"choices"' in r, r[:200])
    body = chat(max_tokens=3, stream=True).encode()
    r = raw(s.port, b"POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)
    check("HTTP/1.0 stream: close-delimited, not chunked",
          status_of(r) == 200 and b"chunked" not in r.lower() and r.rstrip().endswith(b"data: [DONE]"), r[-200:])

    # Ids and the access log.
    st, headers, data = s.status("GET", "/v1/models/a%00b", headers={**auth, "X-Request-Id": "hostile-1"})
    check("id with NUL: 404 with the id escaped", st == 404 and b"a\\u0000b" in data, data[:200])
    check("X-Request-Id echoed", headers.get("X-Request-Id") == "hostile-1", str(headers))
    generated = s.status("GET", "/health")[1].get("X-Request-Id", "")
    check("X-Request-Id generated", re.fullmatch(r"[0-9a-f]{16}", generated) is not None, generated)
    s.status("POST", "/v1/chat/completions", chat(max_tokens=2), {**auth, "X-Request-Id": "hostile-2"})
    time.sleep(0.2)
    log = s.log_text()
    check("access log line with tokens",
          re.search(r" hostile-2 127\.0\.0\.1 POST /v1/chat/completions 200 prompt=\d+ completion=\d+ \d+\.\d{3}s",
                    log) is not None, log[-500:])
    check("access log escapes the NUL", "/v1/models/a\\x00b 404" in log, log[-500:])
    check("alive after the protocol checks", s.alive())

    # n beyond what the server can ever hold, 503 with Retry-After, and no cancelled count for rejections.
    st, _, data = s.status("POST", "/v1/chat/completions", chat(n=7), auth)
    check("n above slots + queue: 400 naming n", st == 400 and b'"param":"n"' in data, data[:300])
    check("rejected requests count no cancelled generation",
          s.metric('torchllm_generations_finished_total{reason="cancelled"}') == 0)

    # Memory over many connections: tokenizing one long word grows per-thread buffers.
    word = "".join(rng.choice("abcdefghij") for _ in range(1_500_000))
    body = json.dumps({"prompt": word})
    rss = []
    for i in range(12):
        st = s.status("POST", "/tokenize", body, auth)[0]
        if st != 200:
            check("long tokenize answered", False, str(st))
            break
        rss.append(s.rss_mb())
    print(f"     RSS over 12 /tokenize calls of 1.5 MB on new connections (MB): {[round(x) for x in rss]}")
    check("RSS stays bounded over connections", len(rss) == 12 and rss[-1] - rss[3] < 120,
          f"{rss[3]:.0f} -> {rss[-1]:.0f} MB")
    check("exit 0 after SIGTERM", s.stop() == 0)

    # --- slow clients, a client that leaves, queue full --------------------------------------------------------
    s = Server(long_model, "--parallel", "1", "--max-queue", "1", "--context", "16384", "--header-timeout", "4",
               "--log-format", "json")
    slow = []
    for _ in range(40):
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"GET /health HTTP/1.1\r\n")
        slow.append(c)
    stop = threading.Event()

    def dribble():
        while not stop.is_set():
            for c in slow:
                try:
                    c.sendall(b"X")
                except OSError:
                    pass
            time.sleep(1)

    t = threading.Thread(target=dribble)
    t.start()
    latencies = []
    for _ in range(10):
        start = time.time()
        st = s.status("GET", "/health")[0]
        latencies.append((time.time() - start) if st == 200 else 99)
        time.sleep(0.1)
    latencies.sort()
    print(f"     /health with 40 slow clients: p50 {latencies[5] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    check("/health answers every probe promptly under 40 slow clients", latencies[-1] < 0.5, str(latencies))
    time.sleep(4)
    got = []
    for c in slow:
        c.settimeout(2)
        try:
            got.append(status_of(c.recv(100)))
        except OSError:
            got.append(-1)
        c.close()
    stop.set()
    t.join()
    check("slow heads get 408 at the deadline", got.count(408) == 40, str(got))

    # A request that is not streamed, whose client leaves: cancelled, slot freed, counted.
    cancelled_before = s.metric('torchllm_generations_finished_total{reason="cancelled"}')
    body = chat(max_tokens=16000, temperature=0).encode()
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(1.0)
    running = s.metric("torchllm_requests_running")
    c.close()
    freed = False
    for _ in range(50):
        time.sleep(0.1)
        if s.metric("torchllm_requests_running") == 0:
            freed = True
            break
    check("a non-streamed request runs", running == 1)
    check("its client leaves: the slot is freed at once", freed)
    check("and it is counted as cancelled",
          s.metric('torchllm_generations_finished_total{reason="cancelled"}') == cancelled_before + 1)

    # Queue full: 503 with Retry-After, and a rejected n=2 request leaves nothing cancelled behind. The holder
    # decodes greedily, as the request above that ran for a second: sampled, the random model may end it early.
    holder = subprocess.Popen(["curl", "-sN", "-H", "Content-Type: application/json", "-d",
                               chat(max_tokens=16000, stream=True, temperature=0),
                               f"http://127.0.0.1:{s.port}/v1/chat/completions"],
                              stdout=subprocess.DEVNULL)
    for _ in range(50):
        if s.metric("torchllm_requests_running") == 1:
            break
        time.sleep(0.1)
    cancelled_before = s.metric('torchllm_generations_finished_total{reason="cancelled"}')
    st, headers, data = s.status("POST", "/v1/chat/completions", chat(n=2))
    check("queue full: 503 with Retry-After", st == 503 and headers.get("Retry-After") == "1", f"{st} {headers}")
    time.sleep(0.3)
    check("the refused request cancelled nothing",
          s.metric('torchllm_generations_finished_total{reason="cancelled"}') == cancelled_before)
    holder.kill()
    holder.wait()
    lines = [line for line in s.log_text().splitlines() if line.startswith("{")]
    try:
        parsed = [json.loads(line) for line in lines]
        check("--log-format json: one JSON object per request",
              len(parsed) > 5 and all({"request_id", "status", "path", "duration_s"} <= set(p) for p in parsed))
    except ValueError as e:
        check("--log-format json lines parse", False, str(e))

    # Two servers on one port.
    second = subprocess.run([TORCHLLM, "serve", "-m", model, "--device", "cpu", "--port", str(s.port)],
                            capture_output=True, text=True, timeout=60)
    check("a second server on the same port: exit 1, address in use",
          second.returncode == 1 and "in use" in second.stderr, second.stderr)
    try:
        ss = subprocess.run(["ss", "-ltnH", f"sport = :{s.port}"], capture_output=True, text=True).stdout.split()
        somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
        check("listen backlog is net.core.somaxconn", len(ss) >= 3 and int(ss[2]) == somaxconn, f"{ss} {somaxconn}")
    except FileNotFoundError:
        print("     (no ss: listen backlog not checked)")
    check("exit 0 after SIGTERM", s.stop() == 0)

    # --- options ----------------------------------------------------------------------------------------------
    r = subprocess.run([TORCHLLM, "serve", "-m", model, "--api-key", ""], capture_output=True, text=True, timeout=60)
    check("--api-key '': an error", r.returncode != 0 and "--api-key is empty" in r.stderr, r.stderr)
    s = Server(model, "--quiet")
    s.status("GET", "/health")
    s.status("GET", "/v1/models")
    time.sleep(0.2)
    check("--quiet: no access log", "/v1/models" not in s.log_text(), s.log_text()[-300:])
    s.stop()


try:
    main()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
if failures:
    print(f"{len(failures)} failure(s): {failures}")
    sys.exit(1)
print("all hostile-client checks passed")
