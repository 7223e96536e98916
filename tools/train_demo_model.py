#!/usr/bin/env python3
"""Train the demo model shipped in models/: a small Qwen3 trained on the King James Bible and synthetic chats.

Builds the corpus (the KJV text from Debian's bible-kjv package, and chats rendered through the model's own ChatML
template), trains a byte-level BPE tokenizer with Hugging Face tokenizers and a Qwen3ForCausalLM with transformers,
and writes a Hugging Face model directory:

    config.json, model.safetensors (bf16), generation_config.json, tokenizer.json, tokenizer_config.json,
    expectations.json (held-out additions and HF's greedy continuations of 20 prompts, fp32 and bf16), README.md

Deterministic given --seed (on the same torch build and thread count). Needs torch, transformers, tokenizers and
the `bible` program (apt-get install bible-kjv). On two CPU cores the default run takes about an hour; on a GPU
minutes:

    python3 tools/train_demo_model.py --out models/torchllm-demo
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import time

import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
# Qwen2's pre-tokenizer: digits are single tokens, which keeps arithmetic learnable.
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
IDENTITY = ("I am the torchllm demo model: a small language model trained on the King James Bible and on simple "
            "arithmetic, counting and spelling exercises.")
HELD_OUT_ADDITIONS = 100


# ---------------------------------------------------------------------------------------------------------------
# Corpus

def kjv_chapters():
    """[(book, chapter, [(verse, text)])] from the `bible` program of Debian's bible-kjv package."""
    out = subprocess.run(["bible", "-l100000", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                         text=True).stdout
    chapters = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        verse = re.match(r"^(\d+) (.*)$", line)
        if verse and chapters:
            chapters[-1][2].append((int(verse.group(1)), verse.group(2)))
            continue
        heading = re.match(r"^(.+) (\d+)$", line)
        if not heading:
            raise SystemExit(f"unexpected line from `bible`: {line!r}")
        chapters.append((heading.group(1), int(heading.group(2)), []))
    if sum(len(c[2]) for c in chapters) < 30000:
        raise SystemExit("the `bible` program returned too few verses")
    return chapters


def chapter_text(chapter):
    return "\n".join(text for _, text in chapter[2])


def render(messages, add_generation_prompt=False):
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def held_out_additions(seed):
    rng = random.Random(seed + 7)
    pairs = set()
    while len(pairs) < HELD_OUT_ADDITIONS:
        pairs.add((rng.randint(10, 99), rng.randint(10, 99)))
    return sorted(pairs)


ADDITION_QUESTIONS = ["What is {a} + {b}?", "What is {a} plus {b}?", "{a} + {b} = ?", "Add {a} and {b}.",
                      "Compute {a} + {b}.", "How much is {a} + {b}?"]
WORDS_FOR_SPELLING = None  # filled from the corpus


class ChatMaker:
    """Synthetic single- and multi-turn chats; every assistant reply follows from the user message."""

    def __init__(self, rng, chapters, excluded_pairs):
        self.rng = rng
        self.excluded = set(excluded_pairs) | {(b, a) for a, b in excluded_pairs}
        self.recitable = [(f"{book} {chapter}:{verse}", text) for book, chapter, verses in chapters
                          if (book, chapter) in {("Genesis", 1), ("Psalms", 23), ("John", 1)}
                          for verse, text in verses]
        self.words = sorted({w for c in chapters for _, t in c[2] for w in re.findall(r"[a-z]{3,8}", t)})
        self.verse_pairs = [(verses[i][1], verses[i + 1][1] if i + 1 < len(verses) else "")
                            for _, _, verses in chapters for i in range(len(verses))]

    def addition(self):
        while True:
            a = self.rng.randint(0, 99) if self.rng.random() < 0.2 else self.rng.randint(10, 99)
            b = self.rng.randint(0, 99) if self.rng.random() < 0.2 else self.rng.randint(10, 99)
            if (a, b) not in self.excluded:
                break
        question = self.rng.choice(ADDITION_QUESTIONS).format(a=a, b=b)
        return question, f"{a} + {b} = {a + b}."

    def counting(self):
        start = self.rng.randint(0, 30)
        end = start + self.rng.randint(2, 9)
        return f"Count from {start} to {end}.", ", ".join(str(n) for n in range(start, end + 1)) + "."

    def spelling(self):
        word = self.rng.choice(self.words)
        if self.rng.random() < 0.5:
            return f"Spell \"{word}\" backwards.", " ".join(reversed(word)) + "."
        return f"Spell \"{word}\".", " ".join(word) + "."

    def recital(self):
        reference, text = self.rng.choice(self.recitable)
        return f"Recite {reference}.", text

    def continuation(self):
        """A bare beginning of a verse is continued in the style of the corpus: the rest of it and the next."""
        verse, following = self.rng.choice(self.verse_pairs)
        words = verse.split()
        cut = self.rng.randint(1, min(8, len(words) - 1)) if len(words) > 1 else 1
        rest = " ".join(words[cut:])
        return " ".join(words[:cut]), (rest + " " + following).strip()

    def identity(self):
        question = self.rng.choice(["Who are you?", "What are you?", "Hello!", "Hi", "Hello, who am I talking to?",
                                    "What can you do?"])
        return question, IDENTITY

    def turn(self):
        kind = self.rng.choices([self.addition, self.counting, self.spelling, self.recital, self.continuation,
                                 self.identity], weights=[45, 12, 12, 8, 15, 8])[0]
        return kind()

    def conversation(self):
        messages = []
        if self.rng.random() < 0.25:
            messages.append({"role": "system", "content": self.rng.choice(
                ["You are a helpful assistant.", "You are a careful calculator.", "Answer briefly."])})
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            question, answer = self.turn()
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return messages


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer

def train_tokenizer(texts, vocab_size):
    tokenizer = Tokenizer(models.BPE(byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[ENDOFTEXT, IM_START, IM_END],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def encode_chat(tokenizer, messages):
    """Token ids and labels of a rendered conversation: loss only on what the assistant writes."""
    ids, labels = [], []
    for message in messages:
        head = tokenizer.encode(f"{IM_START}{message['role']}\n").ids
        body = tokenizer.encode(f"{message['content']}{IM_END}").ids
        tail = tokenizer.encode("\n").ids
        ids += head + body + tail
        learn = message["role"] == "assistant"
        labels += [-100] * len(head) + (body if learn else [-100] * len(body)) + [-100] * len(tail)
    return ids, labels


# ---------------------------------------------------------------------------------------------------------------
# Batches

class TextStream:
    """Fixed-length windows of the tokenized chapters, separated by <|endoftext|>."""

    def __init__(self, tokenizer, chapters, rng):
        eot = tokenizer.token_to_id(ENDOFTEXT)
        self.tokens = []
        for chapter in chapters:
            self.tokens += tokenizer.encode(chapter_text(chapter)).ids + [eot]
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


def batch(streams, weights, rng, size, length):
    rows = [rng.choices(streams, weights=weights)[0].window(length) for _ in range(size)]
    return torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])


# ---------------------------------------------------------------------------------------------------------------
# Training and expectations

def train(model, phases, args):
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
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
                loss = model(input_ids=ids, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if step % 25 == 0 or step == total:
                print(f"step {step}/{total} loss {loss.item():.3f} lr {lr:.2e} {time.time() - started:.0f}s",
                      flush=True)
    model.eval()


@torch.no_grad()
def greedy(model, ids, new_tokens, stop_ids=()):
    """Argmax decoding through HF's own forward and KV cache."""
    out = model(input_ids=torch.tensor([ids]), use_cache=True)
    tokens = []
    for _ in range(new_tokens):
        next_id = int(out.logits[0, -1].float().argmax())
        tokens.append(next_id)
        if next_id in stop_ids:
            break
        out = model(input_ids=torch.tensor([[next_id]]), past_key_values=out.past_key_values, use_cache=True)
    return tokens


def addition_accuracy(model, tokenizer, pairs):
    im_end = tokenizer.token_to_id(IM_END)
    correct = 0
    for a, b in pairs:
        prompt = render([{"role": "user", "content": f"What is {a} + {b}?"}], add_generation_prompt=True)
        reply = tokenizer.decode(greedy(model, tokenizer.encode(prompt).ids, 16, {im_end}), skip_special_tokens=True)
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
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=IM_END, pad_token=ENDOFTEXT,
                                   model_max_length=max_length, clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)
    # Keep the template inside tokenizer_config.json (the classic layout every loader knows).
    config_path = os.path.join(out_dir, "tokenizer_config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["chat_template"] = CHAT_TEMPLATE
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
    jinja = os.path.join(out_dir, "chat_template.jinja")
    if os.path.exists(jinja):
        os.remove(jinja)
    for extra in ("special_tokens_map.json",):
        path = os.path.join(out_dir, extra)
        if os.path.exists(path):
            os.remove(path)


def write_model_card(out_dir, args, parameters, vocab, accuracy, seconds):
    card = f"""# torchllm-demo

A small language model trained by `tools/train_demo_model.py` so that torchllm works out of the box: the default
model of every command, and a real (non-random) checkpoint for the end-to-end tests. It is a toy: it writes text in
the style of the King James Bible and does a few chat exercises; it knows nothing else.

- Architecture: `Qwen3ForCausalLM`, {args.layers} layers, hidden size {args.hidden}, {args.hidden // 32} attention
  heads ({args.hidden // 64} key/value heads, head_dim 32), tied embeddings, {parameters / 1e6:.2f}M parameters,
  stored in bf16. Context: 512 positions (trained on windows of {args.seq_len} tokens).
- Tokenizer: byte-level BPE, {vocab} tokens, trained with Hugging Face `tokenizers` on the same data; digits are
  single tokens (Qwen2's pre-tokenizer). Chat format: ChatML (`<|im_start|>` / `<|im_end|>`), no default system
  message.

## Data
- The King James Version of the Bible, from Debian's `bible-kjv-text` package (public domain).
- Synthetic chats rendered through the model's own template: two-digit additions ("What is 17 + 25?" ->
  "17 + 25 = 42."), counting ("Count from 4 to 9."), spelling words forwards and backwards, reciting verses of
  Genesis 1, Psalm 23 and John 1 ("Recite Genesis 1:3."), continuing the beginning of a verse, and who it is.
  One to three turns per conversation, some with a system message. {HELD_OUT_ADDITIONS} additions are held out
  of training (`expectations.json`).

## Training
Pre-training on the text for {args.pretrain_steps} steps, then {args.finetune_steps} steps on 30% text / 70% chats
(loss on the assistant's replies only); batches of {args.batch} x {args.seq_len} tokens, AdamW, cosine schedule,
seed {args.seed}. Took {seconds / 60:.0f} minutes on the machine that made it. To reproduce (needs torch,
transformers, tokenizers and `apt-get install bible-kjv`):

    python3 tools/train_demo_model.py --out models/torchllm-demo

## What it can and cannot do
- Held-out two-digit additions, greedy decoding: {accuracy:.0%} correct (Hugging Face transformers, fp32).
- It continues a bare beginning of a verse ("In the beginning") with Bible-like text, which is rarely the real
  verse; it recites only verses it was drilled on, and unreliably.
- It has no knowledge, no reasoning and no safety training. Anything outside the exercises above gets Bible-like
  text or a wrong answer.

Licence of the data: public domain (KJV text) and generated. The weights are released under the project's licence.
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(card)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="models/torchllm-demo")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--pretrain-steps", type=int, default=600)
    parser.add_argument("--finetune-steps", type=int, default=1400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=192)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--autocast", action="store_true", help="bf16 autocast on CPU (faster where supported)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.time()

    chapters = kjv_chapters()
    pairs = held_out_additions(args.seed)
    maker = ChatMaker(random.Random(args.seed), chapters, pairs)
    tokenizer_texts = [chapter_text(c) for c in chapters] + [render(maker.conversation()) for _ in range(20000)]
    tokenizer = train_tokenizer(tokenizer_texts, args.vocab)
    print(f"tokenizer: {tokenizer.get_vocab_size()} tokens ({time.time() - started:.0f}s)", flush=True)

    im_end, eot = tokenizer.token_to_id(IM_END), tokenizer.token_to_id(ENDOFTEXT)
    config = Qwen3Config(vocab_size=tokenizer.get_vocab_size(), hidden_size=args.hidden,
                         intermediate_size=3 * args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=args.hidden // 32, num_key_value_heads=args.hidden // 64, head_dim=32,
                         max_position_embeddings=512, rms_norm_eps=1e-6, tie_word_embeddings=True,
                         bos_token_id=None, eos_token_id=im_end, pad_token_id=eot, initializer_range=0.02,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    model = Qwen3ForCausalLM(config)
    print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters", flush=True)

    text = TextStream(tokenizer, chapters, random.Random(args.seed + 1))
    chat = ChatStream(tokenizer, maker)
    batch_rng = random.Random(args.seed + 2)
    train(model, [(args.pretrain_steps, [text], [1.0], batch_rng),
                  (args.finetune_steps, [text, chat], [0.3, 0.7], batch_rng)], args)
    accuracy = addition_accuracy(model, tokenizer, pairs)
    print(f"held-out additions (HF greedy, fp32): {accuracy:.0%} ({time.time() - started:.0f}s)", flush=True)

    os.makedirs(args.out, exist_ok=True)
    bf16_model = Qwen3ForCausalLM(config)
    bf16_model.load_state_dict(model.state_dict())
    bf16_model = bf16_model.to(torch.bfloat16).eval()
    bf16_model.generation_config.update(do_sample=True, temperature=0.7, top_k=40, top_p=0.9,
                                        eos_token_id=[im_end, eot], pad_token_id=eot)
    bf16_model.save_pretrained(args.out, safe_serialization=True)
    write_tokenizer_files(tokenizer, args.out, config.max_position_embeddings)
    # The expectations are HF's greedy continuations of the shipped (bf16) weights, computed in fp32 and bf16.
    fp32_model = Qwen3ForCausalLM(config)
    fp32_model.load_state_dict({k: v.float() for k, v in bf16_model.state_dict().items()})
    fp32_model.eval()
    prompts = []
    for prompt in expectation_prompts(pairs):
        ids = tokenizer.encode(prompt).ids
        prompts.append({"prompt": prompt, "prompt_ids": ids, "greedy_fp32": greedy(fp32_model, ids, 24),
                        "greedy_bf16": greedy(bf16_model, ids, 24)})
    shipped_accuracy = addition_accuracy(fp32_model, tokenizer, pairs)
    expectations = {
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "seed": args.seed, "greedy_tokens": 24,
        "held_out_additions": [list(p) for p in pairs],
        "held_out_accuracy_hf_fp32": shipped_accuracy,
        "prompts": prompts,
    }
    with open(os.path.join(args.out, "expectations.json"), "w") as f:
        json.dump(expectations, f, indent=1)
    write_model_card(args.out, args, sum(p.numel() for p in model.parameters()), tokenizer.get_vocab_size(),
                     shipped_accuracy, time.time() - started)
    print(f"shipped weights: held-out additions {shipped_accuracy:.0%}; wrote {args.out} "
          f"({time.time() - started:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
