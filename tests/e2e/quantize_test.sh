#!/bin/bash
# `torchllm quantize` end to end: quantize_test.sh TORCHLLM DATA_DIR (tests/data: the reference checkpoints)
set -uo pipefail
torchllm="$1"
data="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

source "$(dirname "$0")/checks.sh"

check "quantize --help" 0 "$torchllm" quantize --help
contains "quantize --help lists types" "$work/out" "q4_k"
# Argument errors (exit 2) and a missing input (exit 1), each one line.
check "missing arguments" 2 "$torchllm" quantize
error_line "missing arguments message" "(see 'torchllm quantize --help')"
check "missing directory" 1 "$torchllm" quantize "$work/nope" "$work/out.gguf" --type q8_0
error_line "missing directory message" "$work/nope: no such directory"
check "bad type" 2 "$torchllm" quantize "$data/reference/qwen3" "$work/out.gguf" --type q3_x
error_line "bad type message" "q3_x"
[ -e "$work/out.gguf" ] && { echo "FAIL a refused run wrote the output"; failures=$((failures + 1)); }

# A successful run, and the file runs.
check "quantize q8_0" 0 "$torchllm" quantize "$data/reference/qwen3" "$work/out.gguf" --type Q8_0
contains "quantize reports" "$work/out" "wrote $work/out.gguf: qwen3, "
[ -e "$work/out.gguf.partial" ] && { echo "FAIL partial file left"; failures=$((failures + 1)); }
check "run the quantized file" 0 "$torchllm" run -m "$work/out.gguf" --raw --temperature 0 -n 8 --device cpu -q "Hello"
[ -s "$work/out" ] || { echo "FAIL run printed nothing"; failures=$((failures + 1)); }
check "info of the quantized file" 0 "$torchllm" info -m "$work/out.gguf" --device cpu --dtype fp32
contains "info q8_0 tensors" "$work/out" "q8_0 "

# An existing output is kept unless --force.
before="$(cksum <"$work/out.gguf")"
check "existing output" 2 "$torchllm" quantize "$data/reference/qwen3" "$work/out.gguf" --type f32
error_line "existing output message" "already exists (give --force to overwrite it)"
[ "$(cksum <"$work/out.gguf")" = "$before" ] || { echo "FAIL the existing output changed"; failures=$((failures + 1)); }
check "--force" 0 "$torchllm" quantize "$data/reference/qwen3" "$work/out.gguf" --type f32 --force
[ "$(cksum <"$work/out.gguf")" != "$before" ] || { echo "FAIL --force did not rewrite"; failures=$((failures + 1)); }

# GPT-2 (Conv1D transposes) and llama (q/k rows, rope_freqs) with a K type that falls back on short rows.
check "quantize gpt2" 0 "$torchllm" quantize "$data/gguf/models/gpt2-hf" "$work/gpt2.gguf" --type f16
check "run gpt2" 0 "$torchllm" run -m "$work/gpt2.gguf" --raw --temperature 0 -n 4 --device cpu -q "ab"
check "quantize llama3" 0 "$torchllm" quantize "$data/reference/llama3" "$work/llama3.gguf" --type q4_k
check "run llama3" 0 "$torchllm" run -m "$work/llama3.gguf" --raw --temperature 0 -n 4 --device cpu -q "ab"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
