#!/bin/bash
# `torchllm tokenize` on a model directory that holds only a SentencePiece tokenizer.model, compared with
# spm_encode / spm_decode:   tokenize_cli_sentencepiece_test.sh TORCHLLM TOKENIZER_MODEL
set -uo pipefail
torchllm="$1"
model="$2"
if [ ! -f "$model" ]; then
  echo "FAIL: $model missing (made by the tokenizer_spm_model fixture, which needs spm_train)"
  exit 1
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cp "$model" "$dir/tokenizer.model"
failures=0

expect() {  # expect NAME EXPECTED_OUTPUT COMMAND...
  local name="$1" expected="$2"
  shift 2
  local output
  output="$("$@" 2>"$dir/err")"
  if [ $? -ne 0 ] || [ "$output" != "$expected" ]; then
    echo "FAIL $name: output '$output' (expected '$expected')"
    cat "$dir/err"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

text="hello world, café 世界 😀"
ids="$(printf '%s\n' "$text" | spm_encode --model="$model" --output_format=id | tr ' ' ',')"
expect "encode adds BOS" "[1,$ids]" "$torchllm" tokenize -m "$dir" "$text"
expect "no BOS" "[$ids]" "$torchllm" tokenize -m "$dir" --no-add-special "$text"
expect "model file" "[$ids]" "$torchllm" tokenize --tokenizer "$dir/tokenizer.model" --no-add-special "$text"
expect "decode" "$text" "$torchllm" tokenize -m "$dir" --decode --skip-special "[1,$ids,2]"
expect "decode with specials" "<s> $text</s>" "$torchllm" tokenize -m "$dir" --decode "[1,$ids,2]"
echo "$failures failures"
[ "$failures" -eq 0 ]
