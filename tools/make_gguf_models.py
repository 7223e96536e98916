#!/usr/bin/env python3
"""Converts Hugging Face checkpoints to GGUF with llama.cpp's own converter (convert_hf_to_gguf.py), so that
the tensor names, metadata keys and llama's q/k row permutation are exactly llama.cpp's.

    /usr/bin/python3 tools/make_gguf_models.py LLAMA_CPP_DIR MODEL_DIR OUT.gguf --outtype f32 [--pre NAME]

The converter needs Hugging Face `transformers` for two things only: AutoConfig (it falls back to reading
config.json when that fails) and AutoTokenizer (the vocabulary in id order and which tokens are added or
special). Debian has no transformers, so a stand-in module below provides both from config.json and
tokenizer.json. The converter names the pre-tokenizer by hashing what the real tokenizer makes of a test
text, which needs the real tokenizer; `--pre` names it instead (default: "default", the GPT-2 split, right
for the character-level tokenizers of tests/data/reference).

The committed files were made with the llama.cpp that node-llama-cpp 3.22.1 bundles (commit de3ff815ea7d).
"""
import argparse
import json
import pathlib
import sys
import types


class _AddedToken:
    def __init__(self, entry):
        self.content = entry["content"]
        self.special = entry.get("special", False)
        self.normalized = entry.get("normalized", False)


class _Tokenizer:
    """What convert_hf_to_gguf asks of AutoTokenizer, read from tokenizer.json."""

    def __init__(self, model_dir):
        data = json.loads((pathlib.Path(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))
        self.vocab = dict(data["model"]["vocab"])
        self.added_tokens_decoder = {}
        for entry in data.get("added_tokens", []):
            self.vocab[entry["content"]] = entry["id"]
            self.added_tokens_decoder[entry["id"]] = _AddedToken(entry)

    def get_vocab(self):
        return dict(self.vocab)

    def get_added_vocab(self):
        return {t.content: i for i, t in self.added_tokens_decoder.items()}

    def encode(self, text, add_special_tokens=False):
        # Only called on added tokens, which the tokenizer keeps whole.
        return [self.vocab[text]]

    def decode(self, ids):
        reverse = {i: t for t, i in self.vocab.items()}
        return "".join(reverse[i] for i in ids)


class _AutoConfig:
    @staticmethod
    def from_pretrained(*args, **kwargs):
        raise OSError("no transformers here: the converter reads config.json itself")


class _AutoTokenizer:
    @staticmethod
    def from_pretrained(model_dir, **kwargs):
        return _Tokenizer(model_dir)


def tokenizer_model_dir(args):
    """A model directory for a vocabulary-only conversion of tokenizer files: the files themselves and a
    config.json with the architecture and vocabulary size (the converter reads its layout keys, none of which
    reach a vocabulary-only GGUF). Its name becomes general.name, so it is fixed, not random."""
    import shutil
    import tempfile
    work = pathlib.Path(tempfile.mkdtemp()) / args.name
    work.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"):
        if (pathlib.Path(args.model_dir) / name).is_file():
            shutil.copy(pathlib.Path(args.model_dir) / name, work / name)
    config = {"architectures": [args.architecture], "vocab_size": args.vocab_size, "hidden_size": 64,
              "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4,
              "num_key_value_heads": 4, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6,
              "rope_theta": 10000.0}
    if args.architecture == "GPT2LMHeadModel":  # GPT-2's converter reads its own spellings of the same
        config.update({"n_ctx": 4096, "n_embd": 64, "n_head": 4, "n_layer": 1, "layer_norm_epsilon": 1e-5})
    (work / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(work)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("llama_cpp")
    parser.add_argument("model_dir")
    parser.add_argument("outfile")
    parser.add_argument("--outtype", default="f32")
    parser.add_argument("--pre", default="default")
    parser.add_argument("--vocab-only", action="store_true", help="only the tokenizer (no tensors)")
    parser.add_argument("--architecture", help="with --vocab-only and a directory holding only tokenizer files: "
                        "the config.json class to write (e.g. Qwen3ForCausalLM)")
    parser.add_argument("--vocab-size", type=int, help="with --architecture: the model's vocab_size")
    parser.add_argument("--name", help="with --architecture: the model directory's name (general.name)")
    parser.add_argument("--split-max-tensors", help="write a split set (gguf-split's naming) of this many tensors a part")
    args = parser.parse_args()
    if args.architecture:
        args.model_dir = tokenizer_model_dir(args)

    shim = types.ModuleType("transformers")
    shim.AutoConfig = _AutoConfig
    shim.AutoTokenizer = _AutoTokenizer
    sys.modules["transformers"] = shim
    # The converter imports sentencepiece before it looks for tokenizer.model; without Debian's
    # python3-sentencepiece only directories without a tokenizer.model convert.
    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        spm = types.ModuleType("sentencepiece")
        spm.SentencePieceProcessor = None
        sys.modules["sentencepiece"] = spm
    # The writer's progress bar.
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = lambda *a, **k: types.SimpleNamespace(update=lambda *a: None, set_description=lambda *a: None,
                                                      reset=lambda **k: None, close=lambda: None)
    try:
        import tqdm as _  # noqa: F401
    except ImportError:
        sys.modules["tqdm"] = tqdm
    # Debian's torch 1.13 predates these dtypes; the converter only uses them as keys of its dtype tables.
    import torch
    for name in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
        if not hasattr(torch, name):
            setattr(torch, name, f"torch.{name} (absent)")
    sys.path[:0] = [args.llama_cpp, str(pathlib.Path(args.llama_cpp) / "gguf-py")]

    import gguf  # noqa: E402
    # llama.cpp refuses a gpt2 vocabulary without the merges key, gguf-py leaves the key out when there are
    # no merges (the character-level tokenizers of tests/data/reference have none) and cannot write an empty
    # array: write one inert merge, "! !", whose result "!!" is not a token (llama.cpp's BPE then falls back
    # to the two "!" tokens; torchllm drops such merges).
    add_to_gguf = gguf.SpecialVocab.add_to_gguf

    def add_to_gguf_with_merges(self, gw, quiet=False):
        if self.load_merges and not self.merges:
            self.merges = ["! !"]
        add_to_gguf(self, gw, quiet=quiet)
    gguf.SpecialVocab.add_to_gguf = add_to_gguf_with_merges

    import conversion.base as base  # noqa: E402
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: args.pre
    import convert_hf_to_gguf  # noqa: E402
    sys.argv = ["convert_hf_to_gguf.py", args.model_dir, "--outfile", args.outfile, "--outtype", args.outtype]
    if args.vocab_only:
        sys.argv.append("--vocab-only")
    if args.split_max_tensors:
        sys.argv += ["--split-max-tensors", args.split_max_tensors]
    convert_hf_to_gguf.main()


if __name__ == "__main__":
    main()
