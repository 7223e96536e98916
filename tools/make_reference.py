#!/usr/bin/env python3
"""Reference fixtures from Hugging Face transformers for tests/model/reference_test.cpp.

For every supported variant this makes a small checkpoint with transformers itself, trains it for a few hundred
steps on a copy task (so that greedy decoding is confident and bf16 cannot flip near-ties), saves it with
save_pretrained, and records HF's float32 logits for a prompt and HF's greedy continuation:

    tests/data/reference/<variant>/{config.json, model.safetensors, generation_config.json, reference.json,
                                    tokenizer.json}

tokenizer.json maps every id to one character (ids 0 and 1 are the special <s> and </s>), so that `torchllm run` can
be given the prompt as text and checked against HF's greedy continuation end to end.

Run on any machine with torch + transformers (a CUDA GPU makes training take seconds):

    python3 tools/make_reference.py --out tests/data/reference
"""
import argparse
import copy
import json
import os

import torch
import transformers
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

VOCAB = 96
PERIOD_RANGE = (3, 9)
SEQ_LEN = 48
PROMPT_LEN = 14
GREEDY_TOKENS = 32
CANDIDATE_PROMPTS = 16
MIN_MARGIN = 0.25

COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, bos_token_id=0,
              eos_token_id=1, pad_token_id=None, initializer_range=0.05)

TRANSFORMERS_5 = int(transformers.__version__.split(".")[0]) >= 5


def rope_kwargs(theta, scaling=None):
    """config kwargs for RoPE in the spelling of the installed transformers."""
    if TRANSFORMERS_5:
        params = {"rope_type": "default", "rope_theta": theta}
        if scaling:
            params.update(scaling)
        return {"rope_parameters": params}
    kwargs = {"rope_theta": theta}
    if scaling:
        kwargs["rope_scaling"] = scaling
    return kwargs


def variants():
    llama3_scaling = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 16}
    return {
        # Qwen3: per-head q/k norm, explicit head_dim unequal to hidden/heads, tied embeddings.
        "qwen3": (Qwen3ForCausalLM, Qwen3Config(**COMMON, head_dim=32, tie_word_embeddings=True,
                                                **rope_kwargs(1000000.0))),
        # Qwen2: q/k/v bias.
        "qwen2": (Qwen2ForCausalLM, Qwen2Config(**COMMON, tie_word_embeddings=False, **rope_kwargs(1000000.0))),
        # Llama 3.2-like: llama3 rope scaling, tied embeddings.
        "llama3": (LlamaForCausalLM, LlamaConfig(**COMMON, tie_word_embeddings=True,
                                                 **rope_kwargs(500000.0, llama3_scaling))),
        # Llama 2 / TinyLlama-like: untied, plain rope.
        "llama2": (LlamaForCausalLM, LlamaConfig(**COMMON, tie_word_embeddings=False, **rope_kwargs(10000.0))),
        # Llama with linear rope scaling.
        "llama-linear": (LlamaForCausalLM, LlamaConfig(**COMMON, tie_word_embeddings=False,
                                                       **rope_kwargs(10000.0, {"rope_type": "linear",
                                                                               "factor": 4.0}))),
        # Mistral: a sliding window shorter than prompt + continuation, so it matters.
        "mistral": (MistralForCausalLM, MistralConfig(**COMMON, tie_word_embeddings=False, sliding_window=12,
                                                      **rope_kwargs(10000.0))),
        # GPT-2: LayerNorm with bias, learned positions, gelu_new, Conv1D weights, tied head.
        "gpt2": (GPT2LMHeadModel, GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=256,
                                             n_inner=128, layer_norm_epsilon=1e-5, activation_function="gelu_new",
                                             bos_token_id=0, eos_token_id=1, tie_word_embeddings=True,
                                             initializer_range=0.05)),
    }


def char_of(token_id):
    """The character the fixture tokenizer writes for an id >= 2: printable ASCII from '!' on."""
    return chr(ord("!") + token_id - 2)


def write_tokenizer(out_dir):
    """A character-level BPE tokenizer.json (no merges) covering the fixture vocabulary."""
    vocab = {"<s>": 0, "</s>": 1}
    vocab.update({char_of(i): i for i in range(2, VOCAB)})
    special = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for t, i in (("<s>", 0), ("</s>", 1))]
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
                 "normalizer": None, "pre_tokenizer": None, "post_processor": None, "decoder": {"type": "Fuse"},
                 "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                           "ignore_merges": False, "vocab": vocab, "merges": []}}
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)


def copy_task_batch(generator, batch, device):
    """Sequences that repeat a random pattern: predicting them needs attention to earlier positions."""
    rows = []
    for _ in range(batch):
        period = int(torch.randint(*PERIOD_RANGE, (1,), generator=generator))
        pattern = torch.randint(2, VOCAB, (period,), generator=generator)
        rows.append(pattern.repeat(SEQ_LEN // period + 1)[:SEQ_LEN])
    return torch.stack(rows).to(device)


def train(model, device, steps, generator):
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(steps):
        ids = copy_task_batch(generator, 64, device)
        loss = model(input_ids=ids, labels=ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return loss.item()


@torch.no_grad()
def greedy(model, prompt):
    """Plain argmax decoding through HF's own forward and KV cache (no EOS handling: always GREEDY_TOKENS), and the
    smallest margin between the best and the second-best logit on the way."""
    out = model(input_ids=prompt, use_cache=True)
    tokens, margin = [], float("inf")
    for _ in range(GREEDY_TOKENS):
        top = out.logits[0, -1].float().topk(2)
        margin = min(margin, float(top.values[0] - top.values[1]))
        next_id = top.indices[:1].view(1, 1)
        tokens.append(int(next_id))
        out = model(input_ids=next_id, past_key_values=out.past_key_values, use_cache=True)
    return tokens, margin


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="tests/data/reference")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--only", nargs="*", help="variants to make (default: all)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(os.cpu_count() or 1)  # some builds (Debian's) default to one thread
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    for name, (model_class, config) in variants().items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(args.seed)
        config._attn_implementation = "eager"
        model = model_class(config).to(device)
        generator = torch.Generator().manual_seed(args.seed)
        prompts = copy_task_batch(torch.Generator().manual_seed(args.seed + 1), CANDIDATE_PROMPTS, "cpu")
        steps = 0
        # Train until some prompt's greedy continuation has no near-tie (top-2 logit margin at least MIN_MARGIN at
        # every step, several times bf16's error) and HF's own bf16 greedy equals its fp32 greedy.
        for extra in [args.steps] + [args.steps // 2] * 4:
            loss = train(model.to(device), device, extra, generator)
            steps += extra
            model = model.float().cpu()
            chosen = None
            for candidate in prompts:
                prompt = candidate[None, :PROMPT_LEN]
                greedy_fp32, margin = greedy(model, prompt)
                if margin >= MIN_MARGIN and greedy(copy.deepcopy(model).to(torch.bfloat16), prompt)[0] == greedy_fp32:
                    chosen = prompt
                    break
            if chosen is not None:
                break
            print(f"{name}: no prompt without a near-tie after {steps} steps; training on")
        else:
            raise SystemExit(f"{name}: still no prompt without a near-tie after {steps} steps")
        prompt = chosen
        with torch.no_grad():
            logits = model(input_ids=prompt).logits[0].float()  # [prompt, vocab]

        out_dir = os.path.join(args.out, name)
        model.save_pretrained(out_dir, safe_serialization=True)
        write_tokenizer(out_dir)
        reference = {
            "variant": name,
            "architecture": type(model).__name__,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "train_steps": steps,
            "final_train_loss": loss,
            "prompt_ids": prompt[0].tolist(),
            "prompt_text": "".join(char_of(i) for i in prompt[0].tolist()),
            "logits": logits.tolist(),
            "greedy_ids": greedy_fp32,
            "min_greedy_margin": margin,
        }
        with open(os.path.join(out_dir, "reference.json"), "w") as f:
            json.dump(reference, f)
        print(f"{name}: loss {loss:.4f}, greedy {greedy_fp32[:8]}... -> {out_dir}")


if __name__ == "__main__":
    main()
