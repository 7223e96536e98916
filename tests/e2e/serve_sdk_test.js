// The server through the official OpenAI Node SDK: what a client written for OpenAI sees.
//   node serve_sdk_test.js   (TORCHLLM_BASE_URL, TORCHLLM_API_KEY, TORCHLLM_MODEL, OPENAI_SDK in the environment)
'use strict';
const assert = require('node:assert/strict');
const sdk = require(process.env.OPENAI_SDK);
const OpenAI = sdk.OpenAI;

const base = process.env.TORCHLLM_BASE_URL;  // http://127.0.0.1:PORT
const apiKey = process.env.TORCHLLM_API_KEY;
const model = process.env.TORCHLLM_MODEL;
const client = new OpenAI({baseURL: base + '/v1', apiKey, maxRetries: 0, timeout: 60000});

const tests = [];
const test = (name, fn) => tests.push({name, fn});

async function raw(path, body) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + apiKey},
    body: JSON.stringify(body),
  });
  return r.json();
}

// Generations that must run to max_tokens: the end-of-sequence tokens are banned.
let noEos = {};
async function setup() {
  for (const text of ['<|im_end|>', '<|endoftext|>']) {
    const r = await raw('/tokenize', {prompt: text, add_special_tokens: false});
    if (r.count === 1) noEos[String(r.tokens[0])] = -100;
  }
  assert.ok(Object.keys(noEos).length > 0, 'the test model has end-of-sequence tokens');
}

const messages = [{role: 'system', content: 'You are terse.'}, {role: 'user', content: 'Say something.'}];

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test('models list and retrieve', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.deepEqual(ids, [model]);
  const card = await client.models.retrieve(model);
  assert.equal(card.id, model);
  assert.equal(card.object, 'model');
  await assert.rejects(client.models.retrieve('no-such-model'), sdk.NotFoundError);
});

test('chat, not streaming', async () => {
  const r = await client.chat.completions.create({model, messages, max_tokens: 12, temperature: 0});
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, model);
  assert.equal(typeof r.created, 'number');
  assert.match(r.system_fingerprint, /^fp_/);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.choices[0].logprobs, null);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat, streaming equals not streaming; role only first; include_usage', async () => {
  const params = {model, messages, max_tokens: 16, temperature: 0, logit_bias: noEos};
  const whole = await client.chat.completions.create(params);
  const chunks = await collect(
      await client.chat.completions.create({...params, stream: true, stream_options: {include_usage: true}}));
  const usage = chunks.pop();
  assert.deepEqual(usage.choices, []);
  // The same counts, except that the second request found the first one's prompt in the prefix cache.
  const {prompt_tokens_details: streamedDetails, ...streamed} = usage.usage;
  const {prompt_tokens_details: wholeDetails, ...counted} = whole.usage;
  assert.deepEqual(streamed, counted);
  assert.ok(streamedDetails.cached_tokens > 0 && streamedDetails.cached_tokens >= wholeDetails.cached_tokens);
  assert.ok(streamedDetails.cached_tokens < streamed.prompt_tokens);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  for (const c of chunks.slice(1)) assert.equal(c.choices[0].delta.role, undefined);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id);
    assert.equal(c.usage, null);
  }
  const last = chunks[chunks.length - 1].choices[0];
  assert.equal(last.finish_reason, 'length');
  for (const c of chunks.slice(0, -1)) assert.equal(c.choices[0].finish_reason, null);
  const text = chunks.map((c) => c.choices[0].delta.content || '').join('');
  assert.equal(text, whole.choices[0].message.content);
});

test('chat stream without include_usage has no usage chunk', async () => {
  const chunks = await collect(await client.chat.completions.create(
      {model, messages, max_tokens: 4, temperature: 0, stream: true}));
  for (const c of chunks) {
    assert.equal(c.choices.length, 1);
    assert.equal('usage' in c, false);
  }
});

test('completions, streaming and not', async () => {
  const params = {model, prompt: 'Once upon a time', max_tokens: 10, temperature: 0, logit_bias: noEos};
  const whole = await client.completions.create(params);
  assert.match(whole.id, /^cmpl-/);
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 10);
  const chunks = await collect(
      await client.completions.create({...params, stream: true, stream_options: {include_usage: true}}));
  const usage = chunks.pop();
  assert.equal(usage.usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usage.usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(typeof usage.usage.prompt_tokens_details.cached_tokens, 'number');
  for (const c of chunks) assert.equal(c.object, 'text_completion');
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), whole.choices[0].text);
  assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'length');
});

test('completions: a batch of prompts and n', async () => {
  const r = await client.completions.create(
      {model, prompt: ['a', 'b'], n: 2, max_tokens: 3, temperature: 0, logit_bias: noEos});
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(r.usage.completion_tokens, 12);
  assert.equal(r.choices[0].text, r.choices[1].text, 'greedy: n copies agree');
});

test('max_tokens gives finish_reason length', async () => {
  for (const max_tokens of [1, 5]) {
    const r = await client.chat.completions.create({model, messages, max_tokens, logit_bias: noEos});
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, max_tokens);
  }
  const r = await client.chat.completions.create({model, messages, max_completion_tokens: 3, logit_bias: noEos});
  assert.equal(r.usage.completion_tokens, 3);
});

test('stop ends the text before the stop string', async () => {
  // Seeded sampling is as repeatable as greedy, and varied enough to hold ASCII text (greedy loops on one byte).
  let params, full, stop = null;
  for (let seed = 1; seed < 20 && !stop; ++seed) {
    params = {model, prompt: 'The quick brown fox', max_tokens: 40, temperature: 1, seed, logit_bias: noEos};
    full = (await client.completions.create(params)).choices[0].text;
    // A plain ASCII character after the start: the text up to its first occurrence is what stop leaves.
    for (let i = 1; i < full.length && !stop; ++i) {
      if (/[A-Za-z0-9]/.test(full[i])) stop = full[i];
    }
  }
  assert.ok(stop, 'a sampled text has an ASCII letter or digit: ' + JSON.stringify(full));
  const r = await client.completions.create({...params, stop: [stop, '\u0000never']});
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stop)));
  const chunks = await collect(await client.completions.create({...params, stop, stream: true}));
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), full.slice(0, full.indexOf(stop)));
});

test('chat logprobs', async () => {
  const r = await client.chat.completions.create(
      {model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3, logit_bias: noEos});
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const entry of content) {
    assert.equal(typeof entry.token, 'string');
    assert.ok(entry.logprob <= 0);
    assert.ok(Array.isArray(entry.bytes));
    assert.equal(entry.top_logprobs.length, 3);
    for (let i = 1; i < 3; ++i) assert.ok(entry.top_logprobs[i - 1].logprob >= entry.top_logprobs[i].logprob);
    // Greedy: the sampled token is the most likely one.
    assert.ok(Math.abs(entry.logprob - entry.top_logprobs[0].logprob) < 1e-5);
  }
  const stream = await collect(await client.chat.completions.create(
      {model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3, logit_bias: noEos,
       stream: true}));
  const streamed = stream.flatMap((c) => (c.choices[0].logprobs ? c.choices[0].logprobs.content : []));
  assert.deepEqual(streamed.map((e) => e.token), content.map((e) => e.token));
});

test('completion logprobs', async () => {
  const r = await client.completions.create(
      {model, prompt: 'Hello', max_tokens: 5, temperature: 0, logprobs: 2, logit_bias: noEos});
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.equal(lp.top_logprobs.length, 5);
  assert.equal(lp.text_offset[0], 0);
  assert.equal(lp.tokens.join(''), r.choices[0].text);
});

test('seed reproducibility', async () => {
  const params = {model, messages, max_tokens: 24, temperature: 1.0, logit_bias: noEos};
  const a = await client.chat.completions.create({...params, seed: 42});
  const b = await client.chat.completions.create({...params, seed: 42});
  const c = await client.chat.completions.create({...params, seed: 43});
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
  const streamed = await collect(await client.chat.completions.create({...params, seed: 42, stream: true}));
  assert.equal(streamed.map((x) => x.choices[0].delta.content || '').join(''), a.choices[0].message.content);
});

test('greedy tokens are the same alone and among 15 other requests', async () => {
  // Prompts of different lengths, so the batch holds ragged sequences that prefill and finish at different steps.
  const prompts = Array.from({length: 16}, (_, i) => 'Request ' + i + ': ' + 'tell me more. '.repeat(i % 5));
  const params = (prompt, i) =>
      ({model, prompt, max_tokens: 8 + (i % 4) * 4, temperature: 0, logprobs: 0, logit_bias: noEos});
  const alone = [];
  for (const [i, prompt] of prompts.entries()) alone.push(await client.completions.create(params(prompt, i)));
  const together = await Promise.all(prompts.map((prompt, i) => client.completions.create(params(prompt, i))));
  for (let i = 0; i < prompts.length; ++i) {
    assert.deepEqual(together[i].choices[0].logprobs.tokens, alone[i].choices[0].logprobs.tokens, 'request ' + i);
    assert.equal(together[i].choices[0].text, alone[i].choices[0].text, 'request ' + i);
  }
});

test('typed errors: BadRequestError', async () => {
  const cases = [
    [{model, messages, frobnicate: 1}, 'frobnicate'],
    [{model, messages, tools: [{type: 'function', function: {name: 'a b'}}]}, 'tools[0].function.name'],
    [{model, messages, tool_choice: 'required'}, 'tool_choice'],
    [{model, messages, n: 0}, 'n'],
    [{model, messages, temperature: 'hot'}, 'temperature'],
    [{model, messages: [{role: 'user', content: 'x'.repeat(4000)}]}, 'messages'],
    [{model, messages, logprobs: false, top_logprobs: 2}, 'top_logprobs'],
  ];
  for (const [params, param] of cases) {
    const error = await client.chat.completions.create(params).then(() => null, (e) => e);
    assert.ok(error instanceof sdk.BadRequestError, param + ': ' + error);
    assert.equal(error.status, 400);
    assert.equal(error.param, param);
    assert.equal(error.type, 'invalid_request_error');
    assert.ok(error.message.length > 0);
  }
  const error = await client.completions.create({model, prompt: 'x', echo: true}).then(() => null, (e) => e);
  assert.ok(error instanceof sdk.BadRequestError);
  assert.equal(error.param, 'echo');
});

test('typed errors: AuthenticationError and NotFoundError', async () => {
  const wrong = new OpenAI({baseURL: base + '/v1', apiKey: 'wrong-key', maxRetries: 0});
  const auth = await wrong.chat.completions.create({model, messages}).then(() => null, (e) => e);
  assert.ok(auth instanceof sdk.AuthenticationError, String(auth));
  assert.equal(auth.status, 401);
  const missing = await client.chat.completions.create({model: 'gpt-nope', messages}).then(() => null, (e) => e);
  assert.ok(missing instanceof sdk.NotFoundError, String(missing));
  assert.equal(missing.code, 'model_not_found');
});

async function metric(name) {
  const text = await (await fetch(base + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : 0;
}

test('an aborted stream cancels its generation', async () => {
  const before = await metric('torchllm_generations_finished_total{reason="cancelled"}');
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
      {model, messages, max_tokens: 200, logit_bias: noEos, stream: true}, {signal: controller.signal});
  let received = 0;
  for await (const chunk of stream) {
    if (chunk.choices.length && ++received === 3) {
      controller.abort();
      break;
    }
  }
  assert.equal(received, 3);
  let cancelled = before;
  for (let i = 0; i < 100 && cancelled === before; ++i) {
    await new Promise((r) => setTimeout(r, 50));
    cancelled = await metric('torchllm_generations_finished_total{reason="cancelled"}');
  }
  assert.equal(cancelled, before + 1, 'the server noticed the disconnect and cancelled the generation');
  assert.equal(await metric('torchllm_requests_running'), 0);
  const r = await client.chat.completions.create({model, messages, max_tokens: 2});
  assert.equal(r.choices.length, 1, 'the server still answers');
});

(async () => {
  await setup();
  let failed = 0;
  for (const {name, fn} of tests) {
    const start = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - start} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
  console.log(failed ? `${failed} of ${tests.length} failed` : `all ${tests.length} passed`);
  process.exit(failed ? 1 : 0);
})();
