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
# No arguments: the subcommands (as `ollama` does). Usage lines name torchllm, not the binary's path.
check "no arguments" 0 "$torchllm"
contains "no arguments lists the subcommands" "$work/out" "Subcommands:"
contains "no arguments lists chat" "$work/out" "chat"
contains "usage says torchllm" "$work/out" "Usage: torchllm [OPTIONS] SUBCOMMAND"
check "run --help" 0 "$torchllm" run --help
contains "subcommand usage says torchllm" "$work/out" "Usage: torchllm run [OPTIONS]"
if grep -qF -- "$torchllm" "$work/out"; then echo "FAIL usage names the binary's path"; failures=$((failures + 1)); fi
# Argument errors: one line, with the prefix and a pointer to the help of the subcommand.
check "unknown flag" 2 "$torchllm" info --bogus
error_line "unknown flag message" "argument was not expected: --bogus (see 'torchllm info --help')"
check "unknown command" 2 "$torchllm" bogus
error_line "unknown command message" "unknown command 'bogus' (commands: run, chat, "
check "missing option value" 2 "$torchllm" run --threads
error_line "missing value message" "(see 'torchllm run --help')"
check "not a number" 2 "$torchllm" chat --temperature warm
error_line "not a number message" "(see 'torchllm chat --help')"
check "top-level unknown flag" 2 "$torchllm" --bogus
error_line "top-level flag message" "unknown option '--bogus' (a command comes first: run, chat, "

check "info qwen3" 0 "$torchllm" info -m "$work/qwen3" --device cpu --dtype fp32
contains "info architecture" "$work/out" "architecture: Qwen3ForCausalLM"
contains "info kv bytes" "$work/out" "kv_cache_per_token: 1.00 KiB"
contains "info sizes in human units" "$work/out" "checkpoint_size: "
contains "info without a tokenizer" "$work/out" "tokenizer: none"
contains "info without a template" "$work/out" "chat_template: no"
check "info json" 0 "$torchllm" info -m "$work/llama3" --device cpu --dtype bf16 --json
contains "info json rope" "$work/out" '"rope_scaling": "llama3"'
contains "info json dtype" "$work/out" '"dtype": "bf16"'
contains "info json kv bytes" "$work/out" '"kv_bytes_per_token": '
# A model with tokenizer and template (make_tiny_checkpoint creates the directory, nested or not).
"$make_checkpoint" qwen3-chat "$work/made/by/make_tiny_checkpoint" 1 ||
  { echo "FAIL make_tiny_checkpoint into a missing directory"; failures=$((failures + 1)); }
chat_model="$work/made/by/make_tiny_checkpoint"
check "info chat model" 0 "$torchllm" info -m "$chat_model" --device cpu --dtype fp32
contains "info tokenizer type" "$work/out" "tokenizer: BPE"
contains "info tokenizer file" "$work/out" "tokenizer_file: tokenizer.json"
contains "info vocabulary" "$work/out" "tokenizer_vocab_size: "
contains "info eos ids" "$work/out" "eos_tokens: <|im_end|> ("
contains "info pad token" "$work/out" "pad_token: <|endoftext|> ("
contains "info chat template" "$work/out" "chat_template: yes"
contains "info context length" "$work/out" "context_length: 256"
grep -qE '^weight_size: [0-9.]+ (KiB|MiB)$' "$work/out" || { echo "FAIL info weight size not in KiB/MiB"; cat "$work/out"; failures=$((failures + 1)); }
check "info chat model json" 0 "$torchllm" info -m "$chat_model" --device cpu --dtype fp32 --json
python3 - "$work/out" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1]))
ok = (isinstance(d["checkpoint_bytes"], int) and isinstance(d["weight_bytes"], int) and d["tokenizer"] == "BPE"
      and d["tokenizer_vocab_size"] > 0 and [t["text"] for t in d["eos_tokens"]] == ["<|im_end|>", "<|endoftext|>"]
      and all(isinstance(t["id"], int) for t in d["eos_tokens"])
      and d["chat_template"] is True and d["context_length"] == 256 and d["default_context"] == 256)
print("ok   info json: bytes, tokenizer, special tokens, template, context" if ok else "FAIL info json: %s" % d)
sys.exit(0 if ok else 1)
PY

# A model path of the wrong kind says what to give instead, whichever subcommand loads the model.
printf 'GGUF\003\000\000\000' >"$work/tiny.gguf"
check "gguf file" 1 "$torchllm" info -m "$work/tiny.gguf"
error_line "gguf message" "tiny.gguf: corrupt GGUF file: truncated"
check "safetensors file" 1 "$torchllm" info -m "$work/qwen3/model.safetensors"
error_line "safetensors file message" "is a file; give the model's directory: $work/qwen3"
mkdir -p "$work/no-config" && cp "$work/qwen3/model.safetensors" "$work/no-config/"
check "directory without config.json" 1 "$torchllm" info -m "$work/no-config"
error_line "no config message" "no-config has no config.json; expected a Hugging Face model directory"
mkdir -p "$work/parent" && cp -r "$work/qwen3" "$work/parent/"
check "directory of model directories" 1 "$torchllm" info -m "$work/parent"
error_line "parent message" "holds model directories: give one of them ($work/parent/qwen3)"
check "run gets it too" 1 "$torchllm" run -m "$work/tiny.gguf" "hi"
error_line "run message" "tiny.gguf: corrupt GGUF file: truncated"
check "chat gets it too" 1 "$torchllm" chat -m "$chat_model/model.safetensors" </dev/null
error_line "chat message" "give the model's directory: $chat_model"
check "serve gets it too" 1 timeout 60 "$torchllm" serve -m "$work/no-config" --port 0
error_line "serve message" "has no config.json"
TORCHLLM_MODEL="$work/qwen2" check "info from TORCHLLM_MODEL" 0 "$torchllm" info --device cpu
contains "info env" "$work/out" "Qwen2ForCausalLM"

check "missing model dir" 1 "$torchllm" info -m "$work/nope"
contains "missing message" "$work/err" "torchllm: error:"
mkdir -p "$work/corrupt" && cp "$work/qwen3/config.json" "$work/corrupt/" && head -c 100 "$work/qwen3/model.safetensors" >"$work/corrupt/model.safetensors"
check "truncated checkpoint" 1 "$torchllm" info -m "$work/corrupt"
contains "truncated message" "$work/err" "model.safetensors"
mkdir -p "$work/falcon" && cp "$work/qwen3/model.safetensors" "$work/falcon/" && sed 's/Qwen3ForCausalLM/FalconForCausalLM/' "$work/qwen3/config.json" >"$work/falcon/config.json"
check "unsupported architecture" 1 "$torchllm" info -m "$work/falcon"
contains "unsupported message" "$work/err" "supported: Qwen3ForCausalLM"
check "bad dtype" 2 "$torchllm" info -m "$work/qwen3" --dtype int3

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all e2e checks passed"
