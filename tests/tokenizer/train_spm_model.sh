#!/bin/bash
# Trains the small SentencePiece model the SentencePiece tests use (Llama-style flags: BPE, byte fallback,
# identity normalization, spaces kept as they are), on a corpus generated here, deterministically:
#   train_spm_model.sh OUT_DIR      -> OUT_DIR/tokenizer.model
set -euo pipefail
out="$1"
if ! command -v spm_train >/dev/null; then
  echo "spm_train not found: install Debian's sentencepiece package (apt-get install sentencepiece)" >&2
  exit 1
fi
mkdir -p "$out"
# A few hundred lines from a fixed word list, picked by a linear congruential generator.
awk 'BEGIN {
  n = split("the quick brown fox jumps over lazy dog hello world token model piece space café naïve " \
            "über straße año crème brûlée 世界 你好 東京 data value 12345 2024 function return if else " \
            "print(x) a+b=c {\"key\": 1} tokenizer sentence encode decode byte fallback", words, " ");
  seed = 12345;
  for (line = 0; line < 600; ++line) {
    count = 3 + line % 9; text = "";
    for (i = 0; i < count; ++i) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      text = text (i ? " " : "") words[1 + int(seed / 65536) % n];
    }
    if (line % 7 == 0) text = text ".";
    if (line % 11 == 0) text = toupper(substr(text, 1, 1)) substr(text, 2);
    print text;
  }
}' > "$out/corpus.txt"
spm_train --input="$out/corpus.txt" --model_prefix="$out/tokenizer" --model_type=bpe --vocab_size=400 \
  --byte_fallback=true --character_coverage=1.0 --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --split_digits=true \
  --input_sentence_size=0 --shuffle_input_sentence=false --num_threads=1 >"$out/train.log" 2>&1 ||
  { cat "$out/train.log" >&2; exit 1; }
echo "trained $out/tokenizer.model"
