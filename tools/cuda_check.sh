#!/bin/bash
# The GPU half of the checks, in one go on the CUDA machine (see ../shared/gpu/README.md; `.gpu/` from
# prepare.sh must travel with the checkout): build against the machine's PyTorch, the CUDA tests, the demo
# model on CUDA, benchmarks with and without CUDA graphs, transformers' eager generate on the same shapes,
# fresh Hugging Face fixtures checked on CUDA, then the whole test suite. Each stage has its own time limit
# and the script stops starting stages near $BUDGET seconds; logs go to $OUT (or /tmp/cuda-check).
set -uo pipefail
out="${OUT:-/tmp/cuda-check}"
budget="${BUDGET:-560}"
mkdir -p "$out"
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
stage() {  # stage NAME LIMIT COMMAND...: runs unless the budget is spent, output to $out/NAME.log
  local name=$1 limit=$2
  shift 2
  local left=$((budget - $(elapsed)))
  if ((left < 20)); then
    echo "== $name: skipped, $(elapsed) s spent"
    return
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at $(elapsed) s, limit $limit s)"
  timeout "$limit" bash -c "$*" >"$out/$name.log" 2>&1
  local rc=$?
  tail -n "${TAIL:-15}" "$out/$name.log"
  echo "== $name: rc=$rc after $(elapsed) s"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
stage build 300 "bash .gpu/build.sh -DTORCHLLM_WEBUI=OFF -DTORCHLLM_ASAN_TESTS=OFF"
[ -x build-cuda/torchllm ] || exit 1
source .gpu/env.sh
t=build-cuda/torchllm

TAIL=25 stage cuda_tests 120 "TORCHLLM_TEST_DEVICE=cuda build-cuda/tests/model_tests \
  --gtest_filter='HuggingFaceReference*:*DecodeRunner*:Fixtures/*:Variants/DecodeRunner*' 2>&1 | grep -v '^\[ *OK\|^\[ RUN'"
stage demo 60 "for d in 'cpu' 'cuda' 'cuda --no-cuda-graphs'; do echo \"-- \$d\"; $t run --device \$d \
  --max-tokens 40 'What is 17 + 25?'; $t run --device \$d --raw --max-tokens 40 'In the beginning'; done"
TAIL=40 stage bench 200 "for s in qwen3-0.6b llama3.2-1b qwen3-4b llama3.1-8b; do \
  $t bench --shape \$s -p 16 -n 256 -b 1 -r 2 --bandwidth 4300; \
  $t bench --shape \$s -p 16 -n 256 -b 1 -r 2 --bandwidth 4300 --no-cuda-graphs | tail -1; done; \
  $t bench --shape qwen3-4b -p 16 -n 256 -b 8,32 -r 2 --bandwidth 4300 | tail -2; \
  $t bench --shape qwen3-4b -p 2048 -n 8 -b 1 -r 2 | tail -1; \
  $t bench --shape qwen3-4b -p 100,4000 -n 128 -b 1 -r 2 --bandwidth 4300 | tail -2; \
  TORCHLLM_DECODE_ATTENTION=sdpa $t bench --shape qwen3-4b -p 100,4000 -n 128 -b 1 -r 2 --bandwidth 4300 | tail -2"
stage hf_bench 120 "PYTHONUNBUFFERED=1 python3 tools/hf_generate_bench.py -p 16 -n 256 -b 1"
# Fresh fixtures from transformers (GPT-2's included, which CPU sessions cannot make), checked on CUDA and CPU.
stage hf_reference 150 "python3 tools/make_reference.py --out /tmp/fresh-reference --steps 600 && \
  cp -r /tmp/fresh-reference/gpt2 \$OUT/gpt2-reference 2>/dev/null; \
  for d in cuda cpu; do TORCHLLM_REFERENCE_DIR=/tmp/fresh-reference TORCHLLM_TEST_DEVICE=\$d \
  build-cuda/tests/model_tests --gtest_filter='Fixtures/HuggingFaceReference.*' 2>&1 | grep -v '^\[ *OK\|^\[ RUN'; done"
TAIL=30 stage ctest 200 "cd build-cuda && ctest -j 16 --timeout 150 2>&1 | grep -v ' Passed \|Start '"
echo "== done after $(elapsed) s"
