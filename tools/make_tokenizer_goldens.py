#!/usr/bin/env python3
"""Golden token ids from Hugging Face `tokenizers` for the tokenizer test corpus.

For each tokenizer, encodes every corpus string with
    Tokenizer.from_file(tokenizer.json).encode(text, add_special_tokens=True).ids
and writes tests/data/tokenizer-goldens/<name>/goldens.jsonl.gz: a header line
    {"tokenizer_fnv": ..., "tokenizers_version": ..., "count": N}
then one line per string, {"i": index, "fnv": hash of its bytes, "ids": [...]}. tests/tokenizer/golden_test.cpp checks
our ids against them (and that the corpus and the tokenizer.json are still the ones the goldens were made from).

The corpus comes from the C++ generator (so both sides read the same bytes): pass --corpus-tool (the built
`tokenizer_corpus`) or --corpus (its output). The tokenizer files are the ones the test setup fetches with npm into
the build tree (build/tests/tokenizer/references/<name>/package/models/tokenizer.json): pass --references.
Strings that are not valid UTF-8 are read as Python's bytes.decode("utf-8", errors="replace") reads them, which is
what torchllm does with such input.

    python3 tools/make_tokenizer_goldens.py --corpus-tool build/tests/tokenizer/tokenizer_corpus \
        --references build/tests/tokenizer/references [--names qwen3,llama3]
"""

import argparse
import gzip
import json
import os
import subprocess
import sys

NAMES = ["qwen3", "llama3", "llama3_1", "llama2", "gemma3", "deepseek_v3", "gptoss"]


def fnv1a_hex(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def read_corpus(args):
    if args.corpus:
        with open(args.corpus, encoding="utf-8") as f:
            lines = f.read().splitlines()
    else:
        lines = subprocess.run([args.corpus_tool], check=True, capture_output=True, text=True).stdout.splitlines()
    corpus = [json.loads(line) for line in lines if line.strip()]
    for entry in corpus:
        data = bytes.fromhex(entry["hex"])
        if fnv1a_hex(data) != entry["fnv"]:
            sys.exit(f"corpus line {entry['i']}: hash does not match its bytes")
        entry["text"] = data.decode("utf-8", errors="replace")
    return corpus


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus-tool", help="the built tokenizer_corpus executable")
    source.add_argument("--corpus", help="a file written by tokenizer_corpus")
    parser.add_argument("--references", required=True, help="directory with <name>/package/models/tokenizer.json")
    parser.add_argument("--names", default=",".join(NAMES), help="comma-separated tokenizer names")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                      "tokenizer-goldens"))
    args = parser.parse_args()

    import tokenizers  # imported late so that --help works without it

    corpus = read_corpus(args)
    for name in args.names.split(","):
        path = os.path.join(args.references, name, "package", "models", "tokenizer.json")
        with open(path, "rb") as f:
            tokenizer_fnv = fnv1a_hex(f.read())
        tokenizer = tokenizers.Tokenizer.from_file(path)
        out_dir = os.path.join(args.out, name)
        os.makedirs(out_dir, exist_ok=True)
        out_path = os.path.join(out_dir, "goldens.jsonl.gz")
        # mtime=0 keeps the file byte-identical between runs with the same results.
        with open(out_path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            header = {"tokenizer_fnv": tokenizer_fnv, "tokenizers_version": tokenizers.__version__,
                      "count": len(corpus)}
            out.write((json.dumps(header) + "\n").encode())
            for entry in corpus:
                ids = tokenizer.encode(entry["text"], add_special_tokens=True).ids
                line = {"i": entry["i"], "fnv": entry["fnv"], "ids": ids}
                out.write((json.dumps(line, separators=(",", ":")) + "\n").encode())
        print(f"{name}: {len(corpus)} strings -> {out_path}")


if __name__ == "__main__":
    main()
