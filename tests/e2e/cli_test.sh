#!/bin/bash
# End-to-end checks of the torchllm binary: torchllm_cli_test.sh TORCHLLM MAKE_TINY_CHECKPOINT
set -uo pipefail
torchllm="$1"
make_checkpoint="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

source "$(dirname "$0")/checks.sh"

for variant in qwen3 qwen2 llama3 llama2 mistral; do
  "$make_checkpoint" "$variant" "$work" 1 BF16 && mkdir -p "$work/$variant" && mv "$work"/config.json "$work"/model.safetensors "$work/$variant/"
done

check "help" 0 "$torchllm" --help
contains "help lists info" "$work/out" "info"
check "info --help shows defaults" 0 "$torchllm" info --help
contains "info --help" "$work/out" "--dtype"

check "info qwen3" 0 "$torchllm" info -m "$work/qwen3" --device cpu --dtype fp32
contains "info architecture" "$work/out" "architecture: Qwen3ForCausalLM"
contains "info kv bytes" "$work/out" "kv_bytes_per_token: 1024"
check "info json" 0 "$torchllm" info -m "$work/llama3" --device cpu --dtype bf16 --json
contains "info json rope" "$work/out" '"rope_scaling": "llama3"'
contains "info json dtype" "$work/out" '"dtype": "bf16"'
TORCHLLM_MODEL="$work/qwen2" check "info from TORCHLLM_MODEL" 0 "$torchllm" info --device cpu
contains "info env" "$work/out" "Qwen2ForCausalLM"

check "missing model dir" 1 "$torchllm" info -m "$work/nope"
contains "missing message" "$work/err" "torchllm: error:"
mkdir -p "$work/corrupt" && cp "$work/qwen3/config.json" "$work/corrupt/" && head -c 100 "$work/qwen3/model.safetensors" >"$work/corrupt/model.safetensors"
check "truncated checkpoint" 1 "$torchllm" info -m "$work/corrupt"
contains "truncated message" "$work/err" "model.safetensors"
mkdir -p "$work/gpt2" && cp "$work/qwen3/model.safetensors" "$work/gpt2/" && sed 's/Qwen3ForCausalLM/GPT2LMHeadModel/' "$work/qwen3/config.json" >"$work/gpt2/config.json"
check "unsupported architecture" 1 "$torchllm" info -m "$work/gpt2"
contains "unsupported message" "$work/err" "supported: Qwen3ForCausalLM"
check "bad dtype" 2 "$torchllm" info -m "$work/qwen3" --dtype int3
check "unknown flag" 2 "$torchllm" info --bogus

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all e2e checks passed"
