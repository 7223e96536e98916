// The demo model's tokenizer.json is a standard one: Hugging Face tokenizers (its Rust core, through the npm
// package "tokenizers") loads it and encodes a few thousand strings to exactly the ids `torchllm tokenize` gives,
// and decodes them to the same text.
//   node demo_tokenizer_test.js TORCHLLM HF_TOKENIZERS_PACKAGE_DIR MODEL_DIR
// Exit 77: skipped (the tokenizers package was not fetched).
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');

const [torchllm, hfDir, modelDir] = process.argv.slice(2);
if (!fs.existsSync(`${hfDir}/index.js`)) {
  console.log(`skipped: ${hfDir} not fetched (npm unavailable?)`);
  process.exit(77);
}
const { Tokenizer } = require(hfDir);

// A deterministic corpus: text in the training data's style, chats with their markup, numbers, and what the
// training data never had (other scripts, emoji, NFD accents, control characters, long white-space runs).
function makeCorpus(count) {
  let state = 20261202;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pick = (list) => list[Math.floor(random() * list.length)];
  const words = ['In', 'the', 'beginning', 'God', 'created', 'heaven', 'and', 'earth', 'LORD', 'said', 'unto',
    'Moses', 'thee', 'thou', 'shalt', 'not', 'Jesus', 'answered', 'him', 'saying', 'Verily', "it's", "they'll",
    "I'M", 'What', 'is', 'plus', 'Count', 'from', 'to', 'Spell', 'backwards', 'Recite', 'Genesis', 'Psalms',
    'torchllm', 'café', 'naïve', 'Ærøskøbing', 'straße', 'Ωμέγα', 'Привет', 'مرحبا', 'שלום', 'नमस्ते', '你好',
    '世界', 'こんにちは', '안녕하세요', '🙂', '👍🏽', '🇩🇪', 'e\u0301', 'A\u030a', '\u00a0', '\u200b', 'x_y',
    'snake_case', 'CamelCase', 'C++', 'http://example.com/a?b=c'];
  const separators = [' ', ' ', ' ', ', ', '. ', '; ', ': ', '\n', '\n\n', '\t', '  ', '   ', ' \n ', '\r\n',
    '? ', '! ', '(', ')', '"', "'", '-', '--', '...', ' +', ' = ', '*', '#', '$', '%', '<', '>', '{', '}'];
  const specials = ['<|im_start|>', '<|im_end|>', '<|endoftext|>'];
  const corpus = ['', ' ', '\n', 'In the beginning', '<|im_start|>user\nWhat is 17 + 25?<|im_end|>\n',
    '12345678901234567890', '  leading and trailing  ', '<|im_end|><|im_end|>', '<|im_start', '|im_end|>'];
  while (corpus.length < count) {
    let text = '';
    const length = 1 + Math.floor(random() * 24);
    for (let i = 0; i < length; i++) {
      const r = random();
      if (r < 0.55) text += pick(words);
      else if (r < 0.75) text += String(Math.floor(random() * 10 ** (1 + Math.floor(random() * 6))));
      else if (r < 0.78) text += pick(specials);
      else if (r < 0.8) text += String.fromCharCode(Math.floor(random() * 32));
      else text += pick(separators);
      if (random() < 0.6) text += ' ';
    }
    corpus.push(text);
  }
  return corpus;
}

async function main() {
  const hf = Tokenizer.fromFile(`${modelDir}/tokenizer.json`);
  const corpus = makeCorpus(3000);
  const input = corpus.map((s) => JSON.stringify(s)).join('\n') + '\n';
  const ours = execFileSync(torchllm, ['tokenize', '-m', modelDir, '--jsonl'], { input, maxBuffer: 1 << 28 })
    .toString().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  if (ours.length !== corpus.length) throw new Error(`torchllm gave ${ours.length} lines for ${corpus.length}`);
  const idsInput = ours.map((ids) => JSON.stringify(ids)).join('\n') + '\n';
  const decoded = execFileSync(torchllm, ['tokenize', '-m', modelDir, '--jsonl', '--decode'],
    { input: idsInput, maxBuffer: 1 << 28 }).toString().split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
  let idMismatches = 0;
  let decodeMismatches = 0;
  let tokens = 0;
  for (let i = 0; i < corpus.length; i++) {
    const theirs = Array.from((await hf.encode(corpus[i], null, { addSpecialTokens: true })).getIds());
    tokens += theirs.length;
    if (JSON.stringify(theirs) !== JSON.stringify(ours[i]) && ++idMismatches <= 5) {
      console.log(`FAIL string ${i} ${JSON.stringify(corpus[i])}\n  ours: ${JSON.stringify(ours[i])}\n` +
        `  hf:   ${JSON.stringify(theirs)}`);
    }
    const theirText = await hf.decode(theirs, false);
    if (theirText !== decoded[i] && ++decodeMismatches <= 5) {
      console.log(`FAIL decode of string ${i}: ours ${JSON.stringify(decoded[i])} hf ${JSON.stringify(theirText)}`);
    }
  }
  console.log(`${corpus.length} strings, ${tokens} tokens: ${idMismatches} id mismatches, ` +
    `${decodeMismatches} decode mismatches against Hugging Face tokenizers`);
  process.exit(idMismatches === 0 && decodeMismatches === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
