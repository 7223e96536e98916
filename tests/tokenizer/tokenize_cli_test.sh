#!/bin/bash
# End-to-end checks of `torchllm tokenize` on the Qwen3 tokenizer fetched by the test setup:
#   tokenize_cli_test.sh TORCHLLM REFERENCE_DIR      (exit 77: skipped, the tokenizer was not fetched)
set -uo pipefail
torchllm="$1"
model="$2/qwen3/package/models"
if [ ! -f "$model/tokenizer.json" ]; then
  echo "skipped: $model/tokenizer.json not fetched (npm unavailable?)"
  exit 77
fi
failures=0

expect() {  # expect NAME EXPECTED_OUTPUT EXPECTED_RC COMMAND...
  local name="$1" expected="$2" expected_rc="$3"
  shift 3
  local output rc
  output="$("$@" 2>/tmp/tokenize_cli_err.$$)"
  rc=$?
  if [ "$rc" -ne "$expected_rc" ] || { [ -n "$expected" ] && [ "$output" != "$expected" ]; }; then
    echo "FAIL $name: exit $rc (expected $expected_rc), output '$output' (expected '$expected')"
    cat /tmp/tokenize_cli_err.$$
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

expect "encode" "[9707,11,847,5562,374,18838,151645]" 0 "$torchllm" tokenize -m "$model" "Hello, my dog is cute<|im_end|>"
expect "encode from file" "[9707]" 0 "$torchllm" tokenize --tokenizer "$model/tokenizer.json" "Hello"
expect "stdin read as is" "[9707,198]" 0 bash -c "printf 'Hello\n' | '$torchllm' tokenize -m '$model'"
expect "split special" "[27,91,318,6213,91,29]" 0 "$torchllm" tokenize -m "$model" --split-special "<|im_end|>"
expect "decode" "Hello, my dog" 0 "$torchllm" tokenize -m "$model" --decode "[9707, 11, 847, 5562]"
expect "jsonl" $'[64,151645,65]\n[38783]' 0 bash -c \
  "printf '\"a<|im_end|>b\"\n\"\\\\u00e9t\\\\u00e9\"\n' | '$torchllm' tokenize -m '$model' --jsonl"
expect "jsonl decode" $'"Hello"\n""' 0 bash -c \
  "printf '[9707]\n[151645]\n' | '$torchllm' tokenize -m '$model' --jsonl --decode --skip-special"
expect "missing model" "" 1 "$torchllm" tokenize -m /nonexistent/model "x"
expect "bad ids" "" 2 "$torchllm" tokenize -m "$model" --decode "[1,"
expect "bad jsonl line" "" 2 bash -c "printf 'not json\n' | '$torchllm' tokenize -m '$model' --jsonl"
expect "no tokenizer given" "" 2 "$torchllm" tokenize "x"
rm -f /tmp/tokenize_cli_err.$$
echo "$failures failures"
[ "$failures" -eq 0 ]
