#!/bin/bash
# End-to-end checks of `torchllm bench`: bench_test.sh TORCHLLM MAKE_TINY_CHECKPOINT
set -uo pipefail
torchllm="$1"
make_checkpoint="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
export OMP_WAIT_POLICY=passive
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

mkdir -p "$work/model" && "$make_checkpoint" qwen3-chat "$work/model" 1
bench=("$torchllm" bench -m "$work/model" --threads 1 --device cpu --dtype fp32)

"${bench[@]}" -p 8,16 -n 4 -b 1,2 -r 2 --json --bandwidth 10 >"$work/out.json" 2>"$work/err" || fail "bench --json: $(cat "$work/err")"
python3 - "$work/out.json" <<'PY' || failures=$((failures + 1))
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 4, rows
assert sorted((r["batch"], r["prompt_tokens"]) for r in rows) == [(1, 8), (1, 16), (2, 8), (2, 16)]
for r in rows:
    for key in ("model", "device", "dtype", "batch", "prompt_tokens", "gen_tokens", "prefill_tok_s", "decode_tok_s",
                "ttft_ms", "weight_bytes", "peak_mem_bytes", "bandwidth_fraction"):
        assert key in r, key
    assert r["model"] == "model" and r["device"] == "cpu" and r["dtype"] == "fp32" and r["gen_tokens"] == 4
    assert r["prefill_tok_s"] > 0 and r["decode_tok_s"] > 0 and r["ttft_ms"] > 0 and r["peak_mem_bytes"] > 0
    assert r["weight_bytes"] == 4 * 106944, r["weight_bytes"]
    bound = 10e9 / r["weight_bytes"] * r["batch"]
    assert abs(r["bandwidth_fraction"] - r["decode_tok_s"] / bound) < 1e-9
print("ok   bench --json rows and fields")
PY

"${bench[@]}" -p 8 -n 4 -r 1 >"$work/table" 2>"$work/err" || fail "bench table: $(cat "$work/err")"
grep -q "^| model | device | dtype | batch | prompt | gen | prefill tok/s | decode tok/s |" "$work/table" || fail "no table header"
[ "$(grep -c '^| model | cpu | fp32 | 1 | 8 | 4 |' "$work/table")" = 1 ] || { fail "no table row"; cat "$work/table"; }

# Sampling flags: every sequence samples with them, and the JSON rows and the table's first line say so.
"${bench[@]}" -p 8 -n 6 -b 1,3 -r 1 --temperature 0.8 --top-k 5 --top-p 0.9 --min-p 0.05 --json >"$work/sampled.json" \
    2>"$work/err" || fail "bench with sampling: $(cat "$work/err")"
python3 - "$work/sampled.json" <<'PY' || failures=$((failures + 1))
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["batch"] for r in rows] == [1, 3], rows
for r in rows:
    assert (r["temperature"], r["top_k"], r["top_p"], r["min_p"]) == (0.8, 5, 0.9, 0.05), r
    assert r["decode_tok_s"] > 0
print("ok   bench --json with sampling flags")
PY
"${bench[@]}" -p 8 -n 4 -r 1 --temperature 1 >"$work/table" 2>"$work/err" || fail "bench --temperature table"
grep -q "^Sampling: temperature=1 top_k=0 top_p=1 min_p=0" "$work/table" || { fail "no sampling line"; cat "$work/table"; }
"${bench[@]}" -p 8 -n 4 -r 1 --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[0]["temperature"] == 0' \
    || fail "bench is not greedy by default"
"${bench[@]}" -p 8 -n 4 --top-p 2 >/dev/null 2>"$work/err"; rc=$?
[ "$rc" = 2 ] && grep -q "top_p must be in (0, 1]" "$work/err" || fail "--top-p 2: exit $rc, $(cat "$work/err")"
"${bench[@]}" -p 8 -n 4 --temperature -1 >/dev/null 2>&1; [ $? = 2 ] || fail "--temperature -1 accepted"

"$torchllm" bench --shape nope >/dev/null 2>"$work/err"; rc=$?
[ "$rc" = 2 ] && grep -q "qwen3-0.6b" "$work/err" || fail "unknown shape: exit $rc, $(cat "$work/err")"
"$torchllm" bench --shape qwen3-0.6b -m "$work/model" >/dev/null 2>&1; [ $? = 2 ] || fail "-m and --shape together"
"${bench[@]}" -p 0 >/dev/null 2>&1; [ $? = 2 ] || fail "-p 0 accepted"
"$torchllm" bench --help | grep -q "llama3.1-8b" || fail "--help does not list the shapes"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all bench checks passed"
