#!/usr/bin/python3
"""`torchllm serve`'s paged KV cache as clients and operators see it: prefix-cache hits in
usage.prompt_tokens_details.cached_tokens, the KV metrics, the ready line, and the KV flags' validation.

Usage: serve_kv_cache_test.py TORCHLLM MAKE_TINY_CHECKPOINT
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TORCHLLM, MAKE_CHECKPOINT = sys.argv[1], sys.argv[2]
WORK = tempfile.mkdtemp(prefix="torchllm-kv-")
BLOCK = 4  # small blocks, so that the short prompts of a tiny model span many of them
failures = []


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)
    if not condition:
        failures.append(name)


class Server:
    def __init__(self, model, *args):
        self.log_path = os.path.join(WORK, f"server-{len(os.listdir(WORK))}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([TORCHLLM, "serve", "-m", model, "--device", "cpu", "--port", "0", "--quiet",
                                      *args], stdout=self.log, stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + 120
        while time.time() < deadline:
            m = re.search(r"listening on http://[^:]+:(\d+)", self.log_text())
            if m and self.port is None:
                self.port = int(m.group(1))
            if self.port and "ready:" in self.log_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("server did not start: " + self.log_text())

    def log_text(self):
        return open(self.log_path, "rb").read().decode(errors="replace")

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"} if body is not None else {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data.decode(errors="replace")

    def post(self, path, body):
        status, text = self.request("POST", path, body)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {text}")
        return text

    def metrics(self):
        text = self.request("GET", "/metrics")[1]
        return {m.group(1): float(m.group(2)) for m in re.finditer(r"^([a-z_]+) (\S+)$", text, re.M)}

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.log.close()
        return rc


MESSAGES = [{"role": "system", "content": "You are a helpful assistant who answers in one short sentence."},
            {"role": "user", "content": "Name three colours of the rainbow, please, and say which one you like."}]


def chat(server, **extra):
    body = {"messages": MESSAGES, "max_tokens": 4, "temperature": 0}
    body.update(extra)
    return json.loads(server.post("/v1/chat/completions", body))["usage"]


def streamed_usage(server):
    text = server.post("/v1/chat/completions", {"messages": MESSAGES, "max_tokens": 4, "stream": True,
                                                "stream_options": {"include_usage": True}})
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    return chunks[-1].get("usage") or {}


def cached(usage):
    return usage.get("prompt_tokens_details", {}).get("cached_tokens")


def prefix_caching(model):
    s = Server(model, "--kv-block-size", str(BLOCK))
    try:
        ready = re.search(r"ready: .*up to (\d+) sequences of (\d+) tokens, KV cache (\d+) blocks of (\d+) tokens "
                          r"\((\d+) tokens, [0-9.]+ [MG]iB, (\w+)\), prefix caching on", s.log_text())
        check("ready line: sequences, context, KV blocks, prefix caching", ready is not None, s.log_text())
        if ready:
            check("ready line: --parallel defaults to 64", ready.group(1) == "64", ready.group(0))
            check("ready line: the block size", ready.group(4) == str(BLOCK), ready.group(0))
            check("ready line: blocks x block size tokens",
                  int(ready.group(3)) * BLOCK == int(ready.group(5)), ready.group(0))
            check("ready line: the KV cache type (the dtype)", ready.group(6) in ("bf16", "fp32"), ready.group(0))

        first = chat(s)
        check("first request: prompt_tokens_details.cached_tokens is 0", cached(first) == 0, first)
        second = chat(s)
        hit = cached(second)
        check("second identical request: cached_tokens > 0", isinstance(hit, int) and hit > 0, second)
        check("cached_tokens is whole blocks", isinstance(hit, int) and hit % BLOCK == 0, second)
        check("cached_tokens leaves at least the last prompt token to compute",
              isinstance(hit, int) and hit < second["prompt_tokens"], second)
        stream = streamed_usage(s)
        check("streamed usage chunk: cached_tokens", cached(stream) == hit, stream)
        text = json.loads(s.post("/v1/completions", {"prompt": "The rainbow has seven colours, and the first "
                                                     "of them is red, then orange", "max_tokens": 2}))["usage"]
        again = json.loads(s.post("/v1/completions", {"prompt": "The rainbow has seven colours, and the first "
                                                      "of them is red, then orange", "max_tokens": 2}))["usage"]
        check("text completions: cached_tokens 0, then > 0", cached(text) == 0 and cached(again) > 0, (text, again))
        several = chat(s, n=3, temperature=1)
        check("n > 1: the prompt's cached tokens counted once", cached(several) == hit, several)

        # The engine thread publishes its numbers after the step that finished the last request, which may be
        # just after the client got its response: wait for it to be idle.
        m = s.metrics()
        deadline = time.time() + 10
        while m.get("torchllm_requests_running", 0) != 0 and time.time() < deadline:
            time.sleep(0.05)
            m = s.metrics()
        names = ["torchllm_kv_block_size", "torchllm_kv_blocks_total", "torchllm_kv_blocks_used",
                 "torchllm_kv_blocks_cached", "torchllm_kv_cache_usage_ratio", "torchllm_prompt_tokens_admitted_total",
                 "torchllm_prefix_cache_hit_tokens_total", "torchllm_prompt_tokens_computed_total",
                 "torchllm_preemptions_total"]
        check("metrics: every KV metric", all(n in m for n in names), [n for n in names if n not in m])
        check("metrics: block size", m.get("torchllm_kv_block_size") == BLOCK, m)
        if ready:
            check("metrics: blocks total as in the ready line",
                  m.get("torchllm_kv_blocks_total") == int(ready.group(3)), m)
        check("metrics: no blocks in use when idle", m.get("torchllm_kv_blocks_used") == 0, m)
        check("metrics: cached blocks kept", m.get("torchllm_kv_blocks_cached", 0) > 0, m)
        hits = m.get("torchllm_prefix_cache_hit_tokens_total", 0)
        check("metrics: prefix-cache hit tokens at least what usage reported",
              hits >= hit * 2 + cached(again), (hits, hit, cached(again)))
        admitted = m.get("torchllm_prompt_tokens_admitted_total", 0)
        check("metrics: admitted prompt tokens = computed + hits (no preemptions)",
              m.get("torchllm_preemptions_total") == 0 and
              admitted == m.get("torchllm_prompt_tokens_computed_total", -1) + hits, m)
        check("exit 0 after SIGTERM", s.stop() == 0)
    finally:
        if s.proc.poll() is None:
            s.stop()


def no_prefix_cache(model):
    s = Server(model, "--kv-block-size", str(BLOCK), "--no-prefix-cache")
    try:
        check("--no-prefix-cache: the ready line says so", "prefix caching off" in s.log_text(), s.log_text())
        chat(s)
        second = chat(s)
        check("--no-prefix-cache: second identical request has cached_tokens 0", cached(second) == 0, second)
        m = s.metrics()
        check("--no-prefix-cache: no hit tokens", m.get("torchllm_prefix_cache_hit_tokens_total") == 0, m)
        check("--no-prefix-cache: no cached blocks", m.get("torchllm_kv_blocks_cached") == 0, m)
    finally:
        s.stop()


def explicit_budget(model):
    # This tiny model's KV takes well under 1 MiB for 2 sequences of 64 tokens: the pool stops at 4 x that.
    s = Server(model, "--kv-cache-memory", "1MiB", "--context", "64", "--parallel", "2")
    try:
        ready = re.search(r"KV cache (\d+) blocks of 16 tokens", s.log_text())
        check("--kv-cache-memory: capped at 4 x --parallel sequences of --context",
              ready is not None and int(ready.group(1)) == 2 * 4 * 4, s.log_text())
    finally:
        s.stop()
    # 300 KiB holds fewer blocks than that cap (2 x 16 x 4) but more than one sequence of 256 tokens.
    s = Server(model, "--kv-cache-memory", "300KiB", "--parallel", "2")
    try:
        ready = re.search(r"KV cache (\d+) blocks of 16 tokens \((\d+) tokens, ([0-9.]+) [KM]iB, \w+\)", s.log_text())
        check("--kv-cache-memory 300KiB: the budget sizes the pool",
              ready is not None and 16 <= int(ready.group(1)) < 128, s.log_text())
        usage = chat(s)
        check("--kv-cache-memory: serves", usage["completion_tokens"] == 4, usage)
    finally:
        s.stop()


def q8_cache(model):
    # --cache-type q8_0: 36 bytes per 32-value row instead of 64 (bf16), so the same budget holds 1.78x the
    # blocks; requests are served from it.
    blocks = {}
    for kind in ("auto", "q8_0"):
        s = Server(model, "--kv-cache-memory", "300KiB", "--parallel", "2", "--dtype", "bf16", "--cache-type", kind)
        try:
            ready = re.search(r"KV cache (\d+) blocks of 16 tokens \((\d+) tokens, [0-9.]+ [KM]iB, (\w+)\)",
                              s.log_text())
            check(f"--cache-type {kind}: the ready line names it", ready is not None and
                  ready.group(3) == ("q8_0" if kind == "q8_0" else "bf16"), s.log_text())
            blocks[kind] = int(ready.group(1)) if ready else 0
            usage = chat(s)
            check(f"--cache-type {kind}: serves", usage["completion_tokens"] == 4, usage)
            again = chat(s)
            check(f"--cache-type {kind}: prefix-cache hits", cached(again) > 0, again)
        finally:
            s.stop()
    check("--cache-type q8_0: 1.7-1.8x the blocks in the same budget",
          blocks.get("auto", 0) > 0 and 1.7 <= blocks.get("q8_0", 0) / blocks["auto"] <= 1.8, blocks)


def usage_errors(model):
    def serve(*args):
        return subprocess.run([TORCHLLM, "serve", "-m", model, "--device", "cpu", "--port", "0", *args],
                              capture_output=True, text=True, timeout=120)

    for args, text in [(["--kv-block-size", "0"], "--kv-block-size must be at least 1"),
                       (["--gpu-memory-utilization", "1.5"], "--gpu-memory-utilization must be in (0, 1]"),
                       (["--gpu-memory-utilization", "0"], "--gpu-memory-utilization must be in (0, 1]"),
                       (["--kv-cache-memory", "lots"], "--kv-cache-memory must be a size"),
                       (["--parallel", "0"], "--parallel must be at least 1")]:
        r = serve(*args)
        lines = r.stderr.strip().splitlines()
        check(f"serve {' '.join(args)}: exit 2, one line", r.returncode == 2 and len(lines) == 1 and text in r.stderr,
              (r.returncode, r.stderr))
    r = serve("--kv-cache-memory", "1KiB")
    check("serve --kv-cache-memory 1KiB: exit 1, says what to change",
          r.returncode == 1 and "less than one sequence" in r.stderr and "--context" in r.stderr
          and "--kv-cache-memory" in r.stderr, (r.returncode, r.stderr))
    for command in (["run", "hello", "-n", "1"], ["chat"]):
        r = subprocess.run([TORCHLLM, *command, "-m", model, "--device", "cpu", "--kv-block-size", "0"],
                           input="hello\n", capture_output=True, text=True, timeout=120)
        check(f"{command[0]} --kv-block-size 0: exit 2", r.returncode == 2 and "--kv-block-size" in r.stderr,
              (r.returncode, r.stderr))
    r = subprocess.run([TORCHLLM, "run", "hello", "-n", "2", "-m", model, "--device", "cpu", "--kv-block-size", "4",
                        "--no-prefix-cache", "--json"], capture_output=True, text=True, timeout=120)
    check("run --kv-block-size 4 --no-prefix-cache: generates", r.returncode == 0 and
          json.loads(r.stdout)["usage"]["completion_tokens"] == 2, (r.returncode, r.stderr))
    help_text = subprocess.run([TORCHLLM, "serve", "--help"], capture_output=True, text=True).stdout
    check("serve --help: the KV flags", all(f in help_text for f in ("--kv-block-size", "--no-prefix-cache",
                                                                      "--gpu-memory-utilization", "--kv-cache-memory")))


def main():
    model = os.path.join(WORK, "tiny-chat")
    os.makedirs(model)
    subprocess.run([MAKE_CHECKPOINT, "qwen3-chat", model], check=True, stdout=subprocess.DEVNULL)
    prefix_caching(model)
    no_prefix_cache(model)
    explicit_budget(model)
    q8_cache(model)
    usage_errors(model)


try:
    main()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
