#!/bin/bash
# End-to-end checks of `torchllm run`: run_test.sh TORCHLLM MAKE_TINY_CHECKPOINT
set -uo pipefail
torchllm="$1"
make_checkpoint="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
export OMP_WAIT_POLICY=passive

source "$(dirname "$0")/checks.sh"
same() {  # same NAME FILE1 FILE2
  if ! cmp -s "$2" "$3"; then echo "FAIL $1: $2 and $3 differ"; diff <(od -c "$2") <(od -c "$3") | head; failures=$((failures + 1)); fi
}
json_field() {  # json_field FILE EXPR (Python expression over d)
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

model="$work/model"
mkdir -p "$model" && "$make_checkpoint" qwen3-chat "$model" 3
run=("$torchllm" run -m "$model" --threads 1 --device cpu --dtype fp32)
copy_model() {  # copy_model DIR PYTHON : a copy of the model, its config.json as c and tokenizer_config.json as t changed
  cp -r "$model" "$1" && python3 - "$1" "$2" <<'PY'
import json, sys
d = sys.argv[1]
c, t = (json.load(open(f"{d}/{n}")) for n in ("config.json", "tokenizer_config.json"))
exec(sys.argv[2])
json.dump(c, open(f"{d}/config.json", "w"))
json.dump(t, open(f"{d}/tokenizer_config.json", "w"))
PY
}
# --context is capped at the model's maximum (256 here): beyond it, contexts need a model that claims more.
long_model="$work/long"
copy_model "$long_model" 'c["max_position_embeddings"] = 2 ** 40'

check "help" 0 "$torchllm" run --help
contains "help shows sampling flags" "$work/out" "--temperature"
contains "help shows defaults" "$work/out" "INT=0"
contains "help shows sampling fallbacks" "$work/out" "greedy (fallback: 1)"

# Greedy decoding is deterministic, and --json carries the same text and tokens.
check "greedy" 0 "${run[@]}" "hello world" --temperature 0 --max-tokens 24 --ignore-eos
cp "$work/out" "$work/greedy.txt"
contains "stats on stderr" "$work/err" "generated 24 tokens"
check "greedy again" 0 "${run[@]}" "hello world" --temperature 0 --max-tokens 24 --ignore-eos --quiet
same "greedy is deterministic" "$work/greedy.txt" "$work/out"
if [ -s "$work/err" ]; then echo "FAIL --quiet still wrote to stderr"; failures=$((failures + 1)); fi
check "json" 0 "${run[@]}" "hello world" --temperature 0 --max-tokens 24 --ignore-eos --json --logprobs 3
cp "$work/out" "$work/greedy.json"
[ "$(json_field "$work/greedy.json" "len(d['tokens'])")" = 24 ] || { echo "FAIL json: not 24 tokens"; failures=$((failures + 1)); }
[ "$(json_field "$work/greedy.json" "d['finish_reason']")" = length ] || { echo "FAIL json finish_reason"; failures=$((failures + 1)); }
[ "$(json_field "$work/greedy.json" "d['usage']['completion_tokens']")" = 24 ] || { echo "FAIL json usage"; failures=$((failures + 1)); }
[ "$(json_field "$work/greedy.json" "all(t['id'] == t['top_logprobs'][0]['id'] and len(t['top_logprobs']) == 3 for t in d['logprobs'])")" = True ] ||
  { echo "FAIL json logprobs: greedy token is not the most likely one"; failures=$((failures + 1)); }
python3 -c "import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))['text'] + '\n')" "$work/greedy.json" >"$work/json_text.txt"
same "json text equals streamed text" "$work/greedy.txt" "$work/json_text.txt"

# The prompt from stdin and from a file gives the same as the argument.
check "stdin prompt" 0 bash -c "printf 'hello world' | '$torchllm' run -m '$model' --threads 1 --device cpu --dtype fp32 - --temperature 0 --max-tokens 24 --ignore-eos --quiet"
same "stdin prompt" "$work/greedy.txt" "$work/out"
printf 'hello world' >"$work/prompt.txt"
check "file prompt" 0 "${run[@]}" -f "$work/prompt.txt" --temperature 0 --max-tokens 24 --ignore-eos --quiet
same "file prompt" "$work/greedy.txt" "$work/out"

# --stop: the output ends right before the first occurrence of the stop string, which is not printed. A random
# model's greedy text repeats itself, so the stop string comes from seeded sampling.
sampled=("${run[@]}" "hello world" --temperature 1 --seed 7 --max-tokens 24 --ignore-eos --json)
check "sampled" 0 "${sampled[@]}"
cp "$work/out" "$work/sampled.json"
stop="$(python3 -c "
import json,sys
t = json.load(open(sys.argv[1]))['text']
for i in range(len(t) // 3, len(t) - 1):
    s = t[i:i + 2]
    if s.isascii() and s.isprintable() and s.strip() == s and not s.startswith('-'):
        print(s); break
" "$work/sampled.json")"
if [ -n "$stop" ]; then
  check "stop" 0 "${sampled[@]}" --stop "$stop"
  python3 - "$work/sampled.json" "$work/out" "$stop" <<'PY' || failures=$((failures + 1))
import json, sys
full = json.load(open(sys.argv[1]))["text"]
got = json.load(open(sys.argv[2]))
stop = sys.argv[3]
if got["text"] != full[: full.index(stop)] or got["finish_reason"] != "stop" or got["stop"] != stop:
    print("FAIL stop: got", got, "expected", repr(full[: full.index(stop)]))
    sys.exit(1)
print("ok   stop text and finish reason")
PY
else
  echo "FAIL stop: no usable stop string in the greedy text"; failures=$((failures + 1))
fi

check "max tokens" 0 "${run[@]}" "hello" --max-tokens 5 --ignore-eos --json --seed 1
[ "$(json_field "$work/out" "len(d['tokens']), d['finish_reason']")" = "5 length" ] || { echo "FAIL max tokens"; failures=$((failures + 1)); }
check "seeded sampling" 0 "${run[@]}" "hello" --max-tokens 16 --ignore-eos --json --seed 42 --temperature 1
cp "$work/out" "$work/seed1.json"
check "seeded sampling again" 0 "${run[@]}" "hello" --max-tokens 16 --ignore-eos --json --seed 42 --temperature 1
[ "$(json_field "$work/seed1.json" "d['tokens']")" = "$(json_field "$work/out" "d['tokens']")" ] || { echo "FAIL same seed, other tokens"; failures=$((failures + 1)); }
check "raw mode" 0 "${run[@]}" --raw "hello" --max-tokens 4 --ignore-eos --json --temperature 0
[ "$(json_field "$work/out" "d['usage']['prompt_tokens']")" = "$("$torchllm" tokenize -m "$model" hello | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" ] ||
  { echo "FAIL raw prompt is not the bare text"; failures=$((failures + 1)); }
check "chat mode wraps the prompt" 0 "${run[@]}" --system "be brief" "hello" --max-tokens 4 --ignore-eos --json
[ "$(json_field "$work/out" "d['usage']['prompt_tokens'] > 10")" = True ] || { echo "FAIL chat prompt not templated"; failures=$((failures + 1)); }

# --context beyond the model's maximum is capped, with a warning: the reply runs to the end of 256 tokens.
check "context capped" 0 "${run[@]}" "hello" --temperature 0 --ignore-eos --json --context 1000
contains "context cap warning" "$work/err" "warning: --context 1000 is more than the model's maximum of 256 tokens"
[ "$(json_field "$work/out" "d['usage']['prompt_tokens'] + d['usage']['completion_tokens'], d['finish_reason']")" = "256 length" ] ||
  { echo "FAIL context capped: $(head -c 300 "$work/out")"; failures=$((failures + 1)); }
check "context at the maximum" 0 "${run[@]}" "hello" --max-tokens 1 --context 256 --json
[ -s "$work/err" ] && { echo "FAIL a context at the maximum warns: $(cat "$work/err")"; failures=$((failures + 1)); }

# A model without a chat template: run, run --chat and chat all use ChatML, with one note each.
plain="$work/no-template"
copy_model "$plain" 'del t["chat_template"]'
for mode in run run--chat chat; do
  case "$mode" in
    run) check "no template: $mode" 0 "${run[@]/$model/$plain}" "hello" --max-tokens 2 --json ;;
    run--chat) check "no template: $mode" 0 "${run[@]/$model/$plain}" --chat "hello" --max-tokens 2 --json ;;
    chat) check "no template: $mode" 0 "$torchllm" chat -m "$plain" --threads 1 --device cpu --dtype fp32 \
      --max-tokens 2 --json <<<"hello" ;;
  esac
  [ "$(grep -c "has no chat template; using ChatML" "$work/err")" = 1 ] ||
    { echo "FAIL no template: $mode does not note ChatML once:"; cat "$work/err"; failures=$((failures + 1)); }
  json_field "$work/out" "d['usage']['prompt_tokens']" >"$work/prompt_tokens.$mode"
done
same "no template: run and run --chat send the same prompt" "$work/prompt_tokens.run" "$work/prompt_tokens.run--chat"
same "no template: run and chat send the same prompt" "$work/prompt_tokens.run" "$work/prompt_tokens.chat"
check "no template: raw" 0 "${run[@]/$model/$plain}" --raw "hello" --max-tokens 2 --json
[ -s "$work/err" ] && { echo "FAIL --raw notes the template: $(cat "$work/err")"; failures=$((failures + 1)); }

# Usage errors exit 2, run-time errors 1, each with one line on stderr.
check "logprobs without json" 2 "${run[@]}" "x" --logprobs 2
error_line "logprobs without json message" "--logprobs needs --json"
check "system with raw" 2 "${run[@]}" --raw --system "be brief" "x"
error_line "system with raw message" "--system and --no-think need chat mode"
check "no prompt" 2 "${run[@]}"
contains "no prompt message" "$work/err" "no prompt"
check "chat and raw" 2 "${run[@]}" --chat --raw "x"
check "bad temperature" 2 "${run[@]}" "x" --temperature -1
contains "bad temperature message" "$work/err" "temperature"
check "bad top_p" 2 "${run[@]}" "x" --top-p 0
check "bad logit bias" 2 "${run[@]}" "x" --logit-bias 3
check "empty stop string" 2 "${run[@]}" "x" --stop ""
contains "empty stop message" "$work/err" "--stop strings must not be empty"
check "empty raw prompt" 2 "${run[@]}" --raw - </dev/null
contains "empty raw prompt message" "$work/err" "the prompt is empty"
check "unknown flag" 2 "${run[@]}" "x" --bogus
check "missing model" 1 "$torchllm" run -m "$work/nope" "x"
contains "missing model message" "$work/err" "torchllm: error:"
check "prompt too long" 1 "${run[@]}" --raw "hello world, hello world" --context 4
contains "prompt too long names both numbers" "$work/err" "but the context is 4"
# A KV cache larger than memory is refused before it is allocated (on Linux it would be killed when touched).
check "out of memory" 1 "${run[@]/$model/$long_model}" "x" --context 2000000000
contains "out of memory message" "$work/err" "out of memory: the KV cache of 125000000 blocks of 16 tokens needs"
contains "out of memory remedy" "$work/err" "--context"
mkdir -p "$work/falcon" && cp "$model"/* "$work/falcon/" && sed -i 's/Qwen3ForCausalLM/FalconForCausalLM/' "$work/falcon/config.json"
check "unsupported architecture" 1 "${run[@]/$model/$work/falcon}" "x"
contains "unsupported message" "$work/err" "FalconForCausalLM"
for f in "$work/err"; do
  [ "$(wc -l <"$f")" -le 1 ] || { echo "FAIL error is more than one line"; cat "$f"; failures=$((failures + 1)); }
done

# --cache-type q8_0: the KV cache as int8 rows with a scale per 32 values (CPU); the tiny model's greedy
# text follows the float cache's (its clear choices survive the quantization), info and --json say so.
check "q8_0 cache" 0 "${run[@]}" "hello world" --temperature 0 --max-tokens 24 --ignore-eos --cache-type q8_0 --json
[ "$(json_field "$work/out" "len(d['tokens'])")" = 24 ] || { echo "FAIL q8_0 cache: not 24 tokens"; failures=$((failures + 1)); }
python3 - "$work/greedy.json" "$work/out" <<'PY' || failures=$((failures + 1))
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = 0
for x, y in zip(a["tokens"], b["tokens"]):
    if x != y: break
    same += 1
# The first tokens, before any near tie, are the float cache's.
if same < 4: sys.exit(f"FAIL q8_0 cache: only {same} tokens agree with the float cache")
print(f"ok   q8_0 cache: {same} of 24 greedy tokens equal the float cache's")
PY
check "info q8_0" 0 "$torchllm" info -m "$model" --device cpu --dtype bf16 --cache-type q8_0 --json
[ "$(json_field "$work/out" "d['kv_cache_type'], d['kv_bytes_per_token'] // (d['layers'] * d['kv_heads'])")" = "q8_0 72" ] ||
  { echo "FAIL info q8_0: $(cat "$work/out")"; failures=$((failures + 1)); }
check "unknown cache type" 2 "${run[@]}" "x" --cache-type q4_0
error_line "unknown cache type message" "use auto (the model's dtype) or q8_0"
check "cache type unlike the dtype" 2 "${run[@]}" "x" --cache-type f16
error_line "cache type unlike the dtype message" "K/V are kept in the compute dtype"

# Ctrl-C stops the generation: what was generated is kept, the exit code is 130.
"${run[@]/$model/$long_model}" "hello" --ignore-eos --context 200000 >"$work/out" 2>"$work/err" &
pid=$!
# Once it prints: a background job of a script starts with SIGINT ignored until run installs its handler.
for _ in $(seq 1 300); do [ -s "$work/out" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
if [ "$rc" -ne 130 ] || [ ! -s "$work/out" ]; then
  echo "FAIL ctrl-c: exit $rc, $(wc -c <"$work/out") bytes of output"; cat "$work/err"; failures=$((failures + 1))
else
  echo "ok   ctrl-c keeps the partial reply and exits 130"
fi

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all run checks passed"
