"""A byte-level BPE tokenizer in the layout of Qwen2/Qwen3's tokenizer.json: NFC, Qwen2's split regex (digits one
per token), GPT-2's byte-to-unicode alphabet, merges learned greedily by pair frequency, ChatML special tokens at
the end of the vocabulary. Training and encoding are ours (no Hugging Face tokenizers on these machines); the
written tokenizer.json is the standard format, and a test checks that Hugging Face tokenizers encodes with it
exactly as torchllm does."""
import heapq
import re
import unicodedata
from collections import Counter, defaultdict

# Qwen2's pre-tokenizer regex, as tokenizer.json spells it (Rust regex syntax).
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
# The same in Python's re, which has no \p{..}: a letter is [^\W\d_], "neither letter nor number" is [^\w]|_.
# Exact for ASCII text; training asserts its text is ASCII.
_PY_SPLIT = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\w\r\n]|_)?[^\W\d_]+|\d| ?(?:[^\w\s]|_)+[\r\n]*|"
                       r"\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


BYTE_CHARS = bytes_to_unicode()


def pretokenize(text):
    if not text.isascii():
        raise ValueError(f"the demo tokenizer's Python encoder handles ASCII text only: {text[:40]!r}")
    return [''.join(BYTE_CHARS[b] for b in piece.encode()) for piece in _PY_SPLIT.findall(text)]


class BpeTokenizer:
    def __init__(self, merges, specials):
        alphabet = [BYTE_CHARS[b] for b in range(256)]
        self.merges = merges  # [(left, right)] in rank order
        self.vocab = {symbol: i for i, symbol in enumerate(alphabet)}
        for left, right in merges:
            self.vocab[left + right] = len(self.vocab)
        self.specials = {s: len(self.vocab) + i for i, s in enumerate(specials)}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.id_to_token = {i: t for t, i in self.vocab.items()} | {i: s for s, i in self.specials.items()}
        self._special_split = re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")
        self._cache = {}

    @property
    def size(self):
        return len(self.vocab) + len(self.specials)

    def token_to_id(self, token):
        return self.specials[token] if token in self.specials else self.vocab[token]

    def _word_ids(self, word):
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            ranked = [(self.ranks.get(pair, 1 << 30), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(ranked)
            if rank == 1 << 30:
                break
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self.vocab[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for part in self._special_split.split(text):
            if part in self.specials:
                ids.append(self.specials[part])
            elif part:
                for word in pretokenize(unicodedata.normalize("NFC", part)):
                    ids += self._word_ids(word)
        return ids

    def decode(self, ids, skip_special_tokens=False):
        byte_of = {c: b for b, c in BYTE_CHARS.items()}
        out, pending = [], bytearray()
        for i in ids:
            token = self.id_to_token[i]
            if token in self.specials:
                out.append(pending.decode(errors="replace"))
                pending = bytearray()
                if not skip_special_tokens:
                    out.append(token)
            else:
                pending += bytes(byte_of[c] for c in token)
        out.append(pending.decode(errors="replace"))
        return "".join(out)

    def to_json(self, chat_specials_normalized=False):
        """The tokenizer.json document (Hugging Face tokenizers' format, as Qwen2/Qwen3 ship it)."""
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": chat_specials_normalized, "special": True}
                             for s, i in self.specials.items()],
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
                byte_level]},
            "post_processor": byte_level,
            "decoder": byte_level,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": self.vocab, "merges": [f"{a} {b}" for a, b in self.merges]},
        }


def train_bpe(texts, vocab_size, specials):
    """Greedy BPE over the pre-tokenized words of `texts` (special tokens are cut out first): each step merges the
    most frequent adjacent pair (ties: the smallest pair), as Hugging Face's BpeTrainer does."""
    cut = re.compile("|".join(re.escape(s) for s in specials))
    counts = Counter()
    for text in texts:
        for part in cut.split(text):
            counts.update(pretokenize(unicodedata.normalize("NFC", part)))
    words = [list(w) for w in counts]
    freq = list(counts.values())
    pair_counts, where = Counter(), defaultdict(set)
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += freq[i]
            where[pair].add(i)
    heap = [(-c, pair) for pair, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    target = vocab_size - 256 - len(specials)
    while len(merges) < target and heap:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative or negative == 0:
            continue  # stale entry
        merges.append(pair)
        merged = pair[0] + pair[1]
        changed = Counter()
        for i in list(where[pair]):
            w = words[i]
            for p in zip(w, w[1:]):
                changed[p] -= freq[i]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == pair:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                changed[p] += freq[i]
                where[p].add(i)
        for p, delta in changed.items():
            if delta:
                pair_counts[p] += delta
                heapq.heappush(heap, (-pair_counts[p], p))
        del pair_counts[pair]
        del where[pair]
    return BpeTokenizer(merges, specials)
