#!/usr/bin/env python3
"""Hugging Face transformers' eager `generate` on random weights of public model shapes: the baseline that
`torchllm bench --shape NAME` is compared with on a GPU (same shapes, same prompt and generated lengths).

    python3 tools/hf_generate_bench.py --shapes qwen3-0.6b llama3.2-1b -p 16 -n 256 -b 1

Prints one JSON object per shape and batch: decode tokens/s = batch * (n - 1) / (time of generating n tokens -
time of generating 1), greedy, the model's default (dynamic) KV cache, bf16 on CUDA.
"""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen3Config

# The dimensions of the public configs (torchllm's src/model/model_shapes.cpp holds the same).
SHAPES = {
    "qwen3-0.6b": (Qwen3Config, dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072,
                                     num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                                     head_dim=128, rope_theta=1e6, tie_word_embeddings=True)),
    "qwen3-4b": (Qwen3Config, dict(vocab_size=151936, hidden_size=2560, intermediate_size=9728,
                                   num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                                   head_dim=128, rope_theta=1e6, tie_word_embeddings=True)),
    "llama3.2-1b": (LlamaConfig, dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192,
                                      num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                                      head_dim=64, rope_theta=500000.0, tie_word_embeddings=True)),
    "llama3.1-8b": (LlamaConfig, dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                      head_dim=128, rope_theta=500000.0, tie_word_embeddings=False)),
}


def timed_generate(model, ids, n):
    torch.cuda.synchronize()
    start = time.perf_counter()
    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                   do_sample=False, pad_token_id=0)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES))
    parser.add_argument("-p", type=int, default=16)
    parser.add_argument("-n", type=int, default=256)
    parser.add_argument("-b", type=int, nargs="+", default=[1])
    parser.add_argument("-r", type=int, default=2, help="timed runs (mean), after one warm-up")
    args = parser.parse_args()
    torch.manual_seed(0)
    for name in args.shapes:
        config_class, dims = SHAPES[name]
        config = config_class(max_position_embeddings=40960, **dims)
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16).eval()
        for batch in args.b:
            ids = torch.randint(1000, config.vocab_size, (batch, args.p), device="cuda")
            timed_generate(model, ids, 4)
            one = sum(timed_generate(model, ids, 1) for _ in range(args.r)) / args.r
            full = sum(timed_generate(model, ids, args.n) for _ in range(args.r)) / args.r
            print(json.dumps({"model": name, "implementation": "transformers eager generate", "batch": batch,
                              "prompt_tokens": args.p, "gen_tokens": args.n,
                              "decode_tok_s": batch * (args.n - 1) / (full - one),
                              "prefill_ttft_ms": one * 1000}), flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
