#!/usr/bin/env python3
"""The demo model shipped in models/, measured through the torchllm binary:

- its greedy output equals Hugging Face transformers' on the 20 prompts recorded by tools/train_demo_model.py
  (fp32 and bf16, on CPU);
- `torchllm chat` answers the held-out two-digit additions correctly at least 90% of the time (greedy);
- a conversation of several turns stays on the ChatML format (every reply ends with <|im_end|>, no markup leaks);
- it is the default model: `torchllm run "In the beginning"` with no -m and no $TORCHLLM_MODEL uses it.

demo_model_test.py TORCHLLM MODEL_DIR
"""
import json
import os
import re
import subprocess
import sys

torchllm, model_dir = sys.argv[1], sys.argv[2]
expectations = json.load(open(os.path.join(model_dir, "expectations.json")))
env = dict(os.environ, OMP_WAIT_POLICY="passive")
env.pop("TORCHLLM_MODEL", None)
failures = []


def run(args, stdin=None, cwd=None):
    done = subprocess.run([torchllm] + args, input=stdin, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"FAIL: torchllm {' '.join(args[:3])}... exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message)
    if not ok:
        failures.append(message)


# 1. HF's greedy continuations, fp32 and bf16: one `torchllm run` per prompt and dtype.
new_tokens = expectations["greedy_tokens"]
for dtype in ("fp32", "bf16"):
    matched = 0
    for i, case in enumerate(expectations["prompts"]):
        out = json.loads(run(["run", "-m", model_dir, "--raw", "--device", "cpu", "--dtype", dtype, "--threads", "1",
                              "--temperature", "0", "--max-tokens", str(new_tokens), "--ignore-eos", "--json",
                              case["prompt"]]))
        ours, theirs = out["tokens"], case[f"greedy_{dtype}"]
        same = out["usage"]["prompt_tokens"] == len(case["prompt_ids"]) and ours == theirs
        matched += same
        if not same:
            print(f"     prompt {i} {case['prompt']!r}: ours {ours} != HF {theirs}")
    check(matched == len(expectations["prompts"]),
          f"{dtype}: greedy equals HF transformers on {matched}/{len(expectations['prompts'])} prompts")

# 2. Held-out additions through scripted `torchllm chat` (one message per line, /clear between questions).
pairs = expectations["held_out_additions"]
script = "".join(f"What is {a} + {b}?\n/clear\n" for a, b in pairs)
replies = [json.loads(line) for line in run(["chat", "-m", model_dir, "--temperature", "0", "--json"],
                                            stdin=script).splitlines()]
check(len(replies) == len(pairs), f"chat answered {len(replies)} of {len(pairs)} questions")
correct = sum(r["text"].strip() == f"{a} + {b} = {a + b}." for r, (a, b) in zip(replies, pairs))
wrong = [(f"{a}+{b}", r["text"]) for r, (a, b) in zip(replies, pairs) if r["text"].strip() != f"{a} + {b} = {a + b}."]
print(f"     wrong: {wrong[:10]}")
check(correct >= 90, f"held-out two-digit additions: {correct}/{len(pairs)} correct (at least 90)")

# 3. Several turns in one conversation stay on the format.
turns = ["Who are you?", "What is 23 + 45?", "Count from 3 to 8.", "Spell \"lamb\" backwards.", "What is 61 + 17?"]
replies = [json.loads(line) for line in run(["chat", "-m", model_dir, "--temperature", "0", "--json"],
                                            stdin="\n".join(turns) + "\n").splitlines()]
check(len(replies) == len(turns), f"a {len(turns)}-turn conversation got {len(replies)} replies")
for turn, reply in zip(turns, replies):
    clean = reply["finish_reason"] == "stop" and reply["text"].strip() and "<|im" not in reply["text"]
    check(bool(clean), f"turn {turn!r} -> {reply['text']!r} ({reply['finish_reason']})")
check(replies[1]["text"].strip() == "23 + 45 = 68." and replies[4]["text"].strip() == "61 + 17 = 78.",
      "the additions later in the conversation are still right")
check(re.fullmatch(r"3, 4, 5, 6, 7, 8\.", replies[2]["text"].strip()) is not None, "counting later in the conversation")

# 4. The default model: no -m, no $TORCHLLM_MODEL, from another directory; chat mode, auto dtype.
out = json.loads(run(["run", "--temperature", "0", "--json", "In the beginning"], cwd="/"))
print(f"     torchllm run \"In the beginning\" -> {out['text']!r}")
reference = next(c for c in expectations["prompts"] if c["prompt"].endswith("In the beginning<|im_end|>\n"
                                                                             "<|im_start|>assistant\n"))
candidates = [reference["greedy_bf16"], reference["greedy_fp32"]]
check(out["finish_reason"] == "stop" and any(c[:len(out["tokens"])] == out["tokens"] for c in candidates),
      "`torchllm run \"In the beginning\"` runs the shipped model (its greedy reply is HF's)")
words = re.findall(r"[A-Za-z]+", out["text"])
check(len(words) >= 5 and all(w.lower() not in ("im_start", "im_end") for w in words),
      "the reply is text in the corpus' style")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("demo model: all checks passed")
