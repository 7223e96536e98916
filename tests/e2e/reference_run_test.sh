#!/bin/bash
# `torchllm run` with greedy decoding reproduces Hugging Face's greedy continuation for every reference fixture
# (made by tools/make_reference.py and committed): reference_run_test.sh TORCHLLM FIXTURE_DIR.
set -uo pipefail
torchllm="$1"
fixtures="$2"
export OMP_WAIT_POLICY=passive
shopt -s nullglob
dirs=("$fixtures"/*/reference.json)
if [ "${#dirs[@]}" -eq 0 ]; then
  echo "FAIL: no reference fixtures under $fixtures (tools/make_reference.py makes them)"
  exit 1
fi
failures=0
for reference in "${dirs[@]}"; do
  dir="$(dirname "$reference")"
  for dtype in fp32 bf16; do
    text="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['prompt_text'])" "$reference")"
    out="$("$torchllm" run -m "$dir" --raw --device cpu --dtype "$dtype" --threads 1 --temperature 0 \
      --max-tokens 32 --ignore-eos --json "$text" 2>&1)" || { echo "FAIL $dir $dtype: $out"; failures=$((failures + 1)); continue; }
    if python3 - "$reference" "$out" <<'PY'; then echo "ok   $(basename "$dir") $dtype"; else failures=$((failures + 1)); fi
import json, sys
reference = json.load(open(sys.argv[1]))
got = json.loads(sys.argv[2])
if got["usage"]["prompt_tokens"] != len(reference["prompt_ids"]) or got["tokens"] != reference["greedy_ids"]:
    print(f"FAIL {reference['variant']}: tokens {got['tokens']} != HF greedy {reference['greedy_ids']}")
    sys.exit(1)
PY
  done
done
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "run reproduces HF's greedy continuation for ${#dirs[@]} fixtures"
