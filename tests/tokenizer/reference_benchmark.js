// Encode throughput of the reference implementations on a text file, for comparison with tokenizer_benchmark:
//   node reference_benchmark.js HF_TOKENIZERS_PACKAGE_DIR PORT_PACKAGE_DIR TEXT_FILE
'use strict';
const fs = require('fs');
const vm = require('vm');

async function main() {
  const [hfDir, portDir, textPath] = process.argv.slice(2);
  const text = fs.readFileSync(textPath, 'utf8');
  const megabytes = Buffer.byteLength(text, 'utf8') / 1e6;

  const { Tokenizer } = require(hfDir);
  const hf = Tokenizer.fromFile(`${portDir}/package/models/tokenizer.json`);
  let start = process.hrtime.bigint();
  const hfIds = (await hf.encode(text, null, { addSpecialTokens: true })).getIds().length;
  let seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`HF tokenizers (Rust, Node bindings) ${megabytes.toFixed(2)} MB ${hfIds} tokens ${seconds.toFixed(3)} s ` +
              `${(megabytes / seconds).toFixed(2)} MB/s`);

  let bundle = fs.readFileSync(`${portDir}/package/dist/main.global.js`, 'utf8');
  bundle = bundle.replace(/^"use strict";var [A-Za-z_$][\w$]*=/, 'globalThis.__tokenizerPort=');
  vm.runInThisContext(bundle);
  const port = globalThis.__tokenizerPort.fromPreTrained();
  // The port is slow on one huge string; it gets the text line by line, which favours it.
  const lines = text.split('\n');
  start = process.hrtime.bigint();
  let portIds = 0;
  for (const line of lines) portIds += port.encode(line, { add_special_tokens: false }).length;
  seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`JavaScript port (line by line)      ${megabytes.toFixed(2)} MB ${portIds} tokens ${seconds.toFixed(3)} s ` +
              `${(megabytes / seconds).toFixed(2)} MB/s`);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
