#!/bin/bash
# llama.cpp and torchllm side by side in one run on the same GGUF files, two passes (CPU):
#   tools/bench_vs_llama_cpp.sh LLAMA_BENCH TORCHLLM DENSE.gguf [QUANTIZED.gguf ...]
# llama-bench -p 64 -n 64 -t THREADS on every file; torchllm bench -p 64 -n 64 -b 1 on the dense one (bf16 and
# fp32). THREADS: $THREADS, else the number of CPUs. Files as tools/make_shape_checkpoint.py and
# tools/make_gguf_models.py make them (quantized copies with llama-quantize or llama_reference quantize).
set -uo pipefail
llama_bench="$1" torchllm="$2" dense="$3"
shift 3
threads="${THREADS:-$(nproc)}"
for pass in 1 2; do
  echo "== pass $pass"
  for f in "$dense" "$@"; do
    "$llama_bench" -m "$f" -p 64 -n 64 -t "$threads" -r 2 -o md 2>/dev/null | grep -E "pp64|tg64"
  done
  for dtype in bf16 fp32; do
    "$torchllm" bench -m "$dense" --dtype "$dtype" --threads "$threads" -p 64 -n 64 -b 1 -r 2 2>/dev/null | tail -1
  done
done
