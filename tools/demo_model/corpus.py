"""The training data of the demo model: the King James Bible (Debian's bible-kjv) and synthetic chats rendered
through the model's own ChatML template."""
import random
import re
import subprocess

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
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
        if not line.strip():
            continue
        # Verses are indented ("  1 In the beginning ..."); headings are not ("1 Samuel 3").
        verse = re.match(r"^\s+(\d+) (.*)$", line)
        line = line.strip()
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

    def addition_pair(self):
        """Mostly two-digit operands, never a held-out pair (in either order)."""
        while True:
            a = self.rng.randint(0, 99) if self.rng.random() < 0.2 else self.rng.randint(10, 99)
            b = self.rng.randint(0, 99) if self.rng.random() < 0.2 else self.rng.randint(10, 99)
            if (a, b) not in self.excluded:
                return a, b

    def addition(self):
        a, b = self.addition_pair()
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
                                 self.identity], weights=[65, 8, 8, 5, 8, 6])[0]
        return kind()

    def conversation(self):
        messages = []
        if self.rng.random() < 0.15:
            messages.append({"role": "system", "content": self.rng.choice(
                ["You are a helpful assistant.", "You are a careful calculator.", "Answer briefly."])})
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            question, answer = self.turn()
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        return messages


