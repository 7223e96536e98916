#!/usr/bin/python3
"""Train the demo model shipped in models/: a small Qwen3 trained on the King James Bible and synthetic chats.

Needs only Debian packages: python3-torch (1.13), python3-numpy and bible-kjv (tools/install-train-deps.sh). It
builds the corpus (tools/demo_model/corpus.py), trains a byte-level BPE tokenizer (bpe_tokenizer.py) and a
Qwen3ForCausalLM written in plain PyTorch with Hugging Face's parameter names (qwen3_model.py), and writes a Hugging
Face model directory:

    config.json, model.safetensors (bf16), generation_config.json, tokenizer.json, tokenizer_config.json,
    expectations.json (held-out additions, and this script's greedy continuations of 20 prompts in fp32 and bf16,
    which tests/e2e/demo_model_test.py compares with torchllm's), README.md (the model card)

Deterministic given --seed and --threads (on the same torch build). On this project's 2-core CPU machine the
default run takes about 50 minutes:

    /usr/bin/python3 tools/train_demo_model.py --out models/torchllm-demo
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_model.bpe_tokenizer import train_bpe  # noqa: E402
from demo_model.corpus import (CHAT_TEMPLATE, ENDOFTEXT, HELD_OUT_ADDITIONS, IM_END, IM_START, ChatMaker,  # noqa: E402
                               chapter_text, held_out_additions, kjv_chapters, render)
from demo_model.model_card import write_model_card  # noqa: E402
from demo_model.qwen3_model import Qwen3Config, Qwen3ForCausalLM  # noqa: E402
from demo_model.safetensors_writer import write_safetensors  # noqa: E402


def encode_chat(tokenizer, messages):
    """Token ids and labels of a rendered conversation: loss only on what the assistant writes (and its
    <|im_end|>)."""
    ids, labels = [], []
    for message in messages:
        head = tokenizer.encode(f"{IM_START}{message['role']}\n")
        body = tokenizer.encode(f"{message['content']}{IM_END}")
        tail = tokenizer.encode("\n")
        ids += head + body + tail
        learn = message["role"] == "assistant"
        labels += [-100] * len(head) + (body if learn else [-100] * len(body)) + [-100] * len(tail)
    return ids, labels


class TextStream:
    """Random fixed-length windows of the tokenized chapters, separated by <|endoftext|>."""

    def __init__(self, tokenizer, chapters, rng):
        eot = tokenizer.token_to_id(ENDOFTEXT)
        self.tokens = []
        for chapter in chapters:
            self.tokens += tokenizer.encode(chapter_text(chapter)) + [eot]
        self.rng = rng

    def window(self, length):
        start = self.rng.randrange(0, len(self.tokens) - length)
        ids = self.tokens[start:start + length]
        return ids, list(ids)


class ChatStream:
    """Windows packed with whole conversations, each after an <|endoftext|>."""

    def __init__(self, tokenizer, maker):
        self.tokenizer, self.maker = tokenizer, maker
        self.eot = tokenizer.token_to_id(ENDOFTEXT)

    def window(self, length):
        ids, labels = [], []
        while len(ids) < length:
            conversation_ids, conversation_labels = encode_chat(self.tokenizer, self.maker.conversation())
            ids += [self.eot] + conversation_ids
            labels += [-100] + conversation_labels
        return ids[:length], labels[:length]


class ArithmeticStream:
    """Windows packed with bare sums, one per line ("17 + 25 = 42."), learned from the "=" on: three times as many
    additions per token as in chats, which is what makes two-digit addition learnable in this budget."""

    def __init__(self, tokenizer, maker):
        self.tokenizer, self.maker = tokenizer, maker

    def window(self, length):
        ids, labels = [], []
        while len(ids) < length:
            a, b = self.maker.addition_pair()
            question, answer = self.tokenizer.encode(f"{a} + {b} ="), self.tokenizer.encode(f" {a + b}.\n")
            ids += question + answer
            labels += [-100] * len(question) + answer
        return ids[:length], labels[:length]


def batch(streams, weights, rng, size, length):
    rows = [rng.choices(streams, weights=weights)[0].window(length) for _ in range(size)]
    return torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])


def train(model, phases, args, evaluate):
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.95))
    total = sum(p[0] for p in phases)
    step, started = 0, time.time()
    model.train()
    for steps, streams, weights, rng in phases:
        for _ in range(steps):
            lr = args.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / total)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            ids, labels = batch(streams, weights, rng, args.batch, args.seq_len)
            loss = model.loss(ids, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if step % 50 == 0 or step == total:
                print(f"step {step}/{total} loss {loss.item():.3f} lr {lr:.2e} {time.time() - started:.0f}s",
                      flush=True)
            if args.eval_every and step % args.eval_every == 0 and step > args.pretrain_steps:
                model.eval()
                print(f"step {step}: held-out additions {evaluate(model):.0%}", flush=True)
                model.train()
    model.eval()


def addition_accuracy(model, tokenizer, pairs):
    im_end = tokenizer.token_to_id(IM_END)
    correct = 0
    for a, b in pairs:
        prompt = render([{"role": "user", "content": f"What is {a} + {b}?"}], add_generation_prompt=True)
        reply = tokenizer.decode(model.greedy(tokenizer.encode(prompt), 16, {im_end}), skip_special_tokens=True)
        correct += reply.strip() == f"{a} + {b} = {a + b}."
    return correct / len(pairs)


def expectation_prompts(pairs):
    """20 prompts: raw text in the corpus' style and chats of each kind (two held-out additions among them)."""
    raw = ["In the beginning", "And the LORD said unto Moses,", "The LORD is my shepherd;", "Blessed are the",
           "And it came to pass", "For God so loved the world,", "Then Jesus", "And the king said", "My son,",
           "Praise ye the LORD."]
    chats = [[{"role": "user", "content": f"What is {pairs[0][0]} + {pairs[0][1]}?"}],
             [{"role": "user", "content": f"What is {pairs[1][0]} plus {pairs[1][1]}?"}],
             [{"role": "user", "content": "Count from 4 to 11."}],
             [{"role": "user", "content": "Spell \"light\" backwards."}],
             [{"role": "user", "content": "Recite Genesis 1:3."}],
             [{"role": "user", "content": "Who are you?"}],
             [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is 7 + 8?"}],
             [{"role": "user", "content": "What is 12 + 30?"}, {"role": "assistant", "content": "12 + 30 = 42."},
              {"role": "user", "content": "What is 42 + 19?"}],
             [{"role": "user", "content": "In the beginning"}],
             [{"role": "user", "content": "Count from 20 to 25."}]]
    return raw + [render(c, add_generation_prompt=True) for c in chats]


def write_tokenizer_files(tokenizer, out_dir, max_length):
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer.to_json(), f, indent=2, ensure_ascii=False)
    config = {
        "add_bos_token": False, "add_prefix_space": False,
        "added_tokens_decoder": {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True}
                                 for s, i in tokenizer.specials.items()},
        "bos_token": None, "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
        "eos_token": IM_END, "errors": "replace", "model_max_length": max_length, "pad_token": ENDOFTEXT,
        "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None,
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="models/torchllm-demo")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--finetune-steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--chat-share", type=float, default=0.5, help="share of chat windows after pre-training")
    parser.add_argument("--sums-share", type=float, default=0.35, help="share of bare-sum windows after pre-training")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=0, help="measure held-out additions every N steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.time()

    chapters = kjv_chapters()
    pairs = held_out_additions(args.seed)
    maker = ChatMaker(random.Random(args.seed), chapters, pairs)
    tokenizer_texts = [chapter_text(c) for c in chapters] + [render(maker.conversation()) for _ in range(20000)]
    tokenizer = train_bpe(tokenizer_texts, args.vocab, [ENDOFTEXT, IM_START, IM_END])
    print(f"tokenizer: {tokenizer.size} tokens ({time.time() - started:.0f}s)", flush=True)
    for _ in range(200):  # the per-message encoding used for the labels equals the whole conversation's
        messages = maker.conversation()
        assert encode_chat(tokenizer, messages)[0] == tokenizer.encode(render(messages)), messages

    im_end, eot = tokenizer.token_to_id(IM_END), tokenizer.token_to_id(ENDOFTEXT)
    config = Qwen3Config(vocab_size=tokenizer.size, hidden_size=args.hidden, intermediate_size=3 * args.hidden,
                         num_hidden_layers=args.layers, num_attention_heads=args.hidden // 32,
                         num_key_value_heads=args.hidden // 64, head_dim=32)
    model = Qwen3ForCausalLM(config)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"model: {parameters / 1e6:.2f}M parameters", flush=True)

    text = TextStream(tokenizer, chapters, random.Random(args.seed + 1))
    chat = ChatStream(tokenizer, maker)
    sums = ArithmeticStream(tokenizer, maker)
    batch_rng = random.Random(args.seed + 2)
    mix = [1 - args.chat_share - args.sums_share, args.chat_share, args.sums_share]
    train(model, [(args.pretrain_steps, [text], [1.0], batch_rng),
                  (args.finetune_steps, [text, chat, sums], mix, batch_rng)], args,
          lambda m: addition_accuracy(m, tokenizer, pairs))
    trained_seconds = time.time() - started

    # What ships is bf16; the expectations are this model's greedy continuations of the shipped weights, computed
    # in fp32 (weights upcast) and in bf16.
    os.makedirs(args.out, exist_ok=True)
    shipped = model.hf_state_dict(torch.bfloat16)
    write_safetensors(os.path.join(args.out, "model.safetensors"), shipped, {"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config.to_hf(bos_token_id=None, eos_token_id=im_end, pad_token_id=eot), f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"do_sample": True, "temperature": 0.7, "top_k": 40, "top_p": 0.9,
                   "eos_token_id": [im_end, eot], "pad_token_id": eot}, f, indent=2)
    write_tokenizer_files(tokenizer, args.out, config.max_position_embeddings)

    runs = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        copy = Qwen3ForCausalLM(config).to(dtype)
        copy.load_state_dict({k: v.to(dtype) for k, v in shipped.items()})
        runs[name] = copy.eval()
    prompts = []
    for prompt in expectation_prompts(pairs):
        ids = tokenizer.encode(prompt)
        prompts.append({"prompt": prompt, "prompt_ids": ids,
                        "greedy_fp32": runs["fp32"].greedy(ids, 24), "greedy_bf16": runs["bf16"].greedy(ids, 24)})
    accuracy = addition_accuracy(runs["fp32"], tokenizer, pairs)
    expectations = {
        "made_by": "tools/train_demo_model.py", "torch_version": torch.__version__, "seed": args.seed,
        "threads": args.threads, "greedy_tokens": 24,
        "held_out_additions": [list(p) for p in pairs],
        "held_out_accuracy_fp32": accuracy,
        "prompts": prompts,
    }
    with open(os.path.join(args.out, "expectations.json"), "w") as f:
        json.dump(expectations, f, indent=1)
    seconds = time.time() - started
    write_model_card(args.out, args, parameters, tokenizer.size, accuracy, trained_seconds, seconds,
                     HELD_OUT_ADDITIONS)
    print(f"held-out additions (greedy, fp32): {accuracy:.0%}; wrote {args.out} ({seconds:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
