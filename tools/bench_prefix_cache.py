#!/usr/bin/env python3
"""Concurrent chat requests that share a long system prompt, against `torchllm serve`, with prefix caching on
and off: prompt tokens the server computed, time to first token and total wall time (a measurement for the
paged KV cache's closing note, not a test). Standard library only.

    /usr/bin/python3 tools/bench_prefix_cache.py TORCHLLM MODEL [--requests 32] [--system-tokens 1000]
        [--max-tokens 16] [--port 8391] [-- extra serve flags]

Starts the server twice (default flags, then --no-prefix-cache), sends all requests at once (streaming, with
stream_options.include_usage), and prints one markdown row per run.
"""
import argparse
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request


def post(url, body, timeout=600):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=timeout)


def wait_ready(base, server):
    for _ in range(1200):
        if server.poll() is not None:
            raise SystemExit("the server exited: " + server.stderr.read().decode(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not become ready")


def metrics(base):
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-0-9.eE+]+)$", line)
        if m:
            values[m.group(1)] = float(m.group(3))
    return values


MODEL = {"id": None}


def one_request(base, system, user, max_tokens, out):
    try:
        one_request_or_raise(base, system, user, max_tokens, out)
    except Exception as e:  # a thread's exception would be lost
        print("request failed:", e, getattr(e, "read", lambda: b"")().decode(errors="replace"), file=sys.stderr)


def one_request_or_raise(base, system, user, max_tokens, out):
    body = {"model": MODEL["id"], "stream": True, "stream_options": {"include_usage": True}, "max_tokens": max_tokens,
            "temperature": 0, "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
    start = time.monotonic()
    first = None
    usage = None
    with post(base + "/v1/chat/completions", body) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices", []):
                if first is None and (choice.get("delta") or {}).get("content"):
                    first = time.monotonic()
    out.append({"ttft": (first or time.monotonic()) - start, "total": time.monotonic() - start, "usage": usage})


def run(args, extra, label):
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([args.torchllm, "serve", "--model", args.model, "--port", str(args.port), "--quiet"] + extra,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(base, server)
        with urllib.request.urlopen(base + "/v1/models", timeout=10) as r:
            MODEL["id"] = json.loads(r.read())["data"][0]["id"]
        words = ("policy", "assistant", "careful", "answer", "question", "helpful", "system", "detail")

        def system_of(count):
            return " ".join(words[i % len(words)] + str(i % 97) for i in range(count))

        # Size the system prompt in tokens: one measuring request, then the word count scaled to it (this
        # also warms the server up on a prompt no later request shares).
        probe = []
        one_request(base, "x " + system_of(100), "hi", 1, probe)
        count = max(1, int(100 * args.system_tokens / probe[0]["usage"]["prompt_tokens"]))
        system = system_of(count)
        before = metrics(base)
        results, threads = [], []
        start = time.monotonic()
        for i in range(args.requests):
            t = threading.Thread(target=one_request,
                                 args=(base, system, f"Question {i}: what is {i} plus {i}?", args.max_tokens, results))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        after = metrics(base)
    finally:
        server.terminate()
        server.wait(timeout=60)
    prompt = sum(r["usage"]["prompt_tokens"] for r in results)
    cached = sum(((r["usage"].get("prompt_tokens_details") or {}).get("cached_tokens", 0)) for r in results)
    computed_name = next((n for n in after if "prompt_tokens_computed" in n), None)
    computed = after[computed_name] - before.get(computed_name, 0) if computed_name else float("nan")
    ttfts = sorted(r["ttft"] for r in results)
    print(f"| {label} | {len(results)} | {prompt} | {cached} | {computed:.0f} | {ttfts[len(ttfts) // 2]:.2f} | "
          f"{ttfts[-1]:.2f} | {wall:.2f} |", flush=True)


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser()
    parser.add_argument("torchllm")
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--system-tokens", type=int, default=1000)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--port", type=int, default=8391)
    args = parser.parse_args(argv)
    print("| prefix cache | requests | prompt tokens | cached (usage) | computed (/metrics) | median TTFT s | "
          "max TTFT s | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    run(args, extra, "on")
    run(args, extra + ["--no-prefix-cache"], "off")


if __name__ == "__main__":
    main()
