#!/bin/bash
# The CLI on GGUF files (the committed fixtures of tests/data/gguf): gguf_cli_test.sh TORCHLLM DATA_DIR
set -uo pipefail
torchllm="$1"
data="$2/gguf"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

source "$(dirname "$0")/checks.sh"

# info: the architecture from the metadata, each tensor type with its bytes, the tokenizer.
check "info q4_0" 0 "$torchllm" info -m "$data/models/qwen3-q4_0.gguf" --device cpu --dtype fp32
contains "info architecture" "$work/out" "architecture: Qwen3ForCausalLM"
contains "info model file" "$work/out" "model_file: $data/models/qwen3-q4_0.gguf"
contains "info tensor types" "$work/out" "tensor_types: f32 9 tensors ("
contains "info q4_0 tensors" "$work/out" "q4_0 14 tensors ("
contains "info tokenizer" "$work/out" "tokenizer: GGUF gpt2 (pre default)"
check "info json" 0 "$torchllm" info -m "$data/models/wide-q4_k_m.gguf" --device cpu --dtype fp32 --json
python3 - "$work/out" <<'PY' || failures=$((failures + 1))
import json, sys
d = json.load(open(sys.argv[1]))
types = {t["type"]: t for t in d["tensor_types"]}
ok = (set(types) == {"f32", "q4_K", "q6_K"} and all(isinstance(t["bytes"], int) and t["bytes"] > 0 for t in types.values())
      and d["checkpoint_bytes"] == sum(t["bytes"] for t in types.values()) and d["hidden_size"] == 256)
print("ok   info json tensor types" if ok else "FAIL info json tensor types: %s" % d["tensor_types"])
sys.exit(0 if ok else 1)
PY

# GPT-2: learned positions, the file's dominant type; greedy from the GGUF and from its Hugging Face checkpoint
# as llama.cpp continues the prompt.
check "info gpt2" 0 "$torchllm" info -m "$data/models/gpt2-q8_0.gguf" --device cpu --dtype fp32
contains "info gpt2 architecture" "$work/out" "architecture: GPT2LMHeadModel"
contains "info gpt2 positions" "$work/out" "positions: learned"
contains "info gpt2 dtype" "$work/out" "checkpoint_dtype: q8_0"
for m in gpt2-f32.gguf gpt2-hf; do
  check "run $m" 0 "$torchllm" run -m "$data/models/$m" --raw --temperature 0 -n 8 --device cpu --dtype fp32 -q \
    --json "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["prompt_text"])' "$2/reference/qwen3/reference.json")"
  python3 - "$work/out" "$data/expected/gpt2-f32.json" <<'PY' || failures=$((failures + 1))
import json, sys
out, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ok = out["tokens"][:len(ref["greedy"])] == ref["greedy"]
print("ok   gpt2 greedy = llama.cpp" if ok else "FAIL gpt2 greedy %s != llama.cpp %s" % (out["tokens"], ref["greedy"]))
sys.exit(0 if ok else 1)
PY
done
check "gpt2 context past its positions" 1 "$torchllm" run -m "$data/models/gpt2-hf" --raw -n 8 --device cpu -q \
  "$(python3 -c 'print("a" * 70)')"
contains "gpt2 context message" "$work/err" "context is 64"

# run: a prompt through the GGUF tokenizer and model, greedy, as llama.cpp continues it (tests/data/gguf/expected).
prompt="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["prompt_text"])' "$2/reference/qwen3/reference.json")"
check "run f32" 0 "$torchllm" run -m "$data/models/qwen3-f32.gguf" --raw --temperature 0 -n 8 --device cpu --dtype fp32 -q \
  --json "$prompt"
python3 - "$work/out" "$data/expected/qwen3-f32.json" <<'PY' || failures=$((failures + 1))
import json, sys
out, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ids = out["tokens"]
ok = ids[:len(ref["greedy"])] == ref["greedy"]
print("ok   run greedy = llama.cpp" if ok else "FAIL run greedy %s != llama.cpp %s (%s)" % (ids, ref["greedy"], out))
sys.exit(0 if ok else 1)
PY
# A directory holding one GGUF model (a split set counts as one) is that model.
check "run split directory" 0 "$torchllm" run -m "$data/models/split" --raw --temperature 0 -n 4 --device cpu -q "mCuj"

# tokenize and template work on a vocabulary-only file; commands that need weights say it has none.
check "tokenize spm" 0 "$torchllm" tokenize -m "$data/tokenizer/vocab-spm.gguf" "the quick brown fox"
contains "tokenize bos" "$work/out" "1"
check "run vocab-only" 1 "$torchllm" run -m "$data/tokenizer/vocab-spm.gguf" "hi"
error_line "vocab-only message" "holds no tensors"
printf '[{"role": "user", "content": "hi"}]' >"$work/messages.json"
check "template without one" 0 "$torchllm" template -m "$data/tokenizer/vocab-spm.gguf" --messages "$work/messages.json"
contains "template falls back to ChatML" "$work/err" "has no chat template; using ChatML"

# Paths that are not one GGUF model.
check "directory of several models" 1 "$torchllm" info -m "$data/models"
error_line "several models message" "give one file with -m"
check "second part of a split set" 1 "$torchllm" info -m "$data/models/split/qwen3-f16-00002-of-00002.gguf"
error_line "second part message" "give the first part"
printf 'GGUF\003\000\000\000' >"$work/tiny.gguf"
check "truncated gguf" 1 "$torchllm" info -m "$work/tiny.gguf"
error_line "truncated message" "tiny.gguf"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all GGUF CLI checks passed"
