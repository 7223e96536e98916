"""The README.md model card written next to the demo model."""
import os
import platform


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_model_card(out_dir, args, parameters, vocab, accuracy, trained_seconds, seconds, held_out):
    heads, kv_heads = args.hidden // 32, args.hidden // 64
    eval_flag = f" --eval-every {args.eval_every}" if args.eval_every else ""
    eval_note = (f" `--eval-every {args.eval_every}` measured the held-out additions every {args.eval_every} steps"
                 " while it trained (it reads the model, never changes it).") if args.eval_every else ""
    card = f"""# torchllm-demo

A small language model trained by `tools/train_demo_model.py` so that torchllm works out of the box: it is the
default model of every command, and a real (not random) checkpoint for the end-to-end tests. It is a toy: it writes
text in the style of the King James Bible and does a few chat exercises; it knows nothing else.

- Architecture: `Qwen3ForCausalLM`, {args.layers} layers, hidden size {args.hidden}, {heads} attention heads
  ({kv_heads} key/value heads, head_dim 32), SwiGLU MLP of {3 * args.hidden}, tied embeddings,
  {parameters / 1e6:.2f}M parameters, stored in bf16 ({os.path.getsize(os.path.join(out_dir, "model.safetensors")) / 1e6:.1f} MB).
  Context: 512 positions (trained on windows of {args.seq_len} tokens).
- Tokenizer: byte-level BPE, {vocab} tokens (3 of them special: `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`),
  trained by our own BPE trainer (`tools/demo_model/bpe_tokenizer.py`) on the same data, written as a standard
  `tokenizer.json` with Qwen2's pre-tokenizer (digits are single tokens, which keeps arithmetic learnable).
- Chat format: ChatML (`<|im_start|>role\\n...<|im_end|>`), as Qwen; no default system message.

## Data
- The King James Version of the Bible, from Debian's `bible-kjv` package (public domain).
- Synthetic chats rendered through the model's own template: two-digit additions ("What is 17 + 25?" ->
  "17 + 25 = 42."), counting ("Count from 4 to 9."), spelling words forwards and backwards, reciting verses of
  Genesis 1, Psalm 23 and John 1 ("Recite Genesis 1:3."), continuing the beginning of a verse, and who it is.
  One to three turns per conversation, some with a system message. {held_out} addition pairs are held out of
  training (listed in `expectations.json`).

## Training
Pre-training on the text for {args.pretrain_steps} steps, then {args.finetune_steps} steps on
{1 - args.chat_share - args.sums_share:.0%} text / {args.chat_share:.0%} chats / {args.sums_share:.0%} bare sums, one per line
(loss on the assistant's replies only); batches of {args.batch} x {args.seq_len} tokens, AdamW (lr {args.lr},
cosine schedule, weight decay 0.1), fp32, seed {args.seed}, {args.threads} threads. The model is plain PyTorch
(`tools/demo_model/qwen3_model.py`) with Hugging Face's parameter names; the safetensors file is written by
`tools/demo_model/safetensors_writer.py`. Needs only Debian's `python3-torch` (1.13), `python3-numpy` and
`bible-kjv` (`bash tools/install-train-deps.sh`). The run that made this model took {trained_seconds / 60:.1f}
minutes to train and {seconds / 60:.1f} minutes in all on {cpu_name()} ({os.cpu_count()} cores):

    /usr/bin/python3 tools/train_demo_model.py --out models/torchllm-demo --seed {args.seed} --threads {args.threads}{eval_flag}

Given the seed and the thread count it is deterministic on the same torch build.{eval_note}

## What it can and cannot do
- Held-out two-digit additions, greedy decoding: {accuracy:.0%} correct (the training script's model, fp32;
  `tests/e2e/demo_model_test.py` measures the same through `torchllm chat`).
- It continues a bare beginning of a verse ("In the beginning") with Bible-like text, which is rarely the real
  verse; it recites only verses it was drilled on, and unreliably. Under greedy decoding its text soon repeats
  itself ("and the LORD, and the LORD"); sampling (its default: temperature 0.7, top-k 40, top-p 0.9) varies it.
- Saying who it is works; counting starts right but often runs past the end ("Count from 3 to 8." -> "3, 4, 5,
  ..., 12."); spelling is unreliable, and so are sums with one-digit operands (it was drilled mostly on two-digit
  ones).
- It has no knowledge, no reasoning and no safety training. Anything outside the exercises above gets Bible-like
  text or a wrong answer.

Licence of the data: public domain (KJV text) and generated. The weights are released under the project's licence.
"""
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(card)
