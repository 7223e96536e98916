// Tool calling, structured outputs and reasoning_content through the official OpenAI Node SDK (the tiny model's
// context is 256 tokens: strings are kept short by the schemas). The model has
// random weights: the tests force what they check with tool_choice and grammars, so they prove the wire format,
// the parsers and the constrained decoding, not the model's judgement.
//   node serve_tools_openai_test.js   (TORCHLLM_BASE_URL, TORCHLLM_MODEL, NODE_PATH=the clients' node_modules)
'use strict';
const assert = require('node:assert/strict');
const {OpenAI} = require('openai');
const {zodResponseFormat} = require('openai/helpers/zod');
const {z} = require('zod');

const base = process.env.TORCHLLM_BASE_URL;
const model = process.env.TORCHLLM_MODEL;
const client = new OpenAI({baseURL: base + '/v1', apiKey: 'none', maxRetries: 0, timeout: 120000});

const tests = [];
const test = (name, fn) => tests.push({name, fn});

const Weather = z.object({city: z.string(), unit: z.enum(['celsius', 'fahrenheit']).optional()}).strict();
const Time = z.object({timezone: z.string()}).strict();
const tools = [
  {type: 'function', function: {name: 'get_weather', description: 'Current weather in a city',
    parameters: {type: 'object', properties: {city: {type: 'string', maxLength: 8},
      unit: {type: 'string', enum: ['celsius', 'fahrenheit']}}, required: ['city'], additionalProperties: false}}},
  {type: 'function', function: {name: 'get_time', description: 'Current time in a timezone',
    parameters: {type: 'object', properties: {timezone: {type: 'string', maxLength: 8}}, required: ['timezone'],
      additionalProperties: false}}},
];
const schemas = {get_weather: Weather, get_time: Time};
// Thinking off where a grammar constrains the answer: with thinking on the grammar applies after the thought,
// which random weights may never close (the last test checks that order on purpose).
const noThinking = {chat_template_kwargs: {enable_thinking: false}};
const messages = [{role: 'user', content: 'What is the weather in Paris and the time in Tokyo?'}];

function checkCall(call) {
  assert.match(call.id, /^call_/);
  assert.equal(call.type, 'function');
  assert.ok(call.function.name in schemas, `unknown tool ${call.function.name}`);
  schemas[call.function.name].parse(JSON.parse(call.function.arguments));
}

// One call (parallel_tool_calls false): with several allowed, random weights may keep adding calls until
// max_tokens, and the finish reason is then 'length' (seen once in CI, sampling at the default temperature).
test('tool_choice required: message.tool_calls with valid arguments, finish_reason tool_calls', async () => {
  const r = await client.chat.completions.create({model, messages, tools, tool_choice: 'required', max_tokens: 120,
    parallel_tool_calls: false, ...noThinking});
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  choice.message.tool_calls.forEach(checkCall);
});

test('a named tool, streamed: id and name first, then arguments; no markup as content', async () => {
  const stream = await client.chat.completions.create({
    model, messages, tools, stream: true, max_tokens: 120, parallel_tool_calls: false, ...noThinking,
    tool_choice: {type: 'function', function: {name: 'get_time'}}});
  let content = '';
  const deltas = [];
  let finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    content += c.delta.content || '';
    for (const d of c.delta.tool_calls || []) deltas.push(d);
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.ok(!content.includes('<tool_call>'), content);
  assert.ok(deltas.length >= 2);
  assert.equal(deltas[0].index, 0);
  assert.match(deltas[0].id, /^call_/);
  assert.equal(deltas[0].function.name, 'get_time');
  // Only the first delta of the call carries its id and name; the arguments come in several pieces.
  assert.ok(deltas.slice(1).every((d) => d.id === undefined && (d.function.name === undefined)));
  assert.ok(deltas.filter((d) => d.function.arguments).length >= 3, 'arguments streamed in pieces');
  const args = deltas.filter((d) => d.index === 0).map((d) => d.function.arguments || '').join('');
  Time.parse(JSON.parse(args));
  assert.ok(deltas.every((d) => d.index === 0), 'parallel_tool_calls false gives one call');
});

test('the stream helper assembles the tool call', async () => {
  const runner = client.chat.completions.stream({model, messages, tools, tool_choice: 'required', max_tokens: 120,
    ...noThinking});
  const done = await runner.finalChatCompletion();
  const message = done.choices[0].message;
  assert.ok(message.tool_calls.length >= 1);
  message.tool_calls.forEach(checkCall);
});

test('runTools: two local functions run and their results go back to the model', async () => {
  const seen = [];
  const runner = client.chat.completions.runTools({
    model, messages, max_tokens: 120, tool_choice: 'required', parallel_tool_calls: false, ...noThinking,
    tools: [
      {type: 'function', function: {name: 'get_weather', parse: (s) => Weather.parse(JSON.parse(s)),
        function: (args) => { seen.push(['get_weather', args]); return '21C'; },
        parameters: tools[0].function.parameters}},
      {type: 'function', function: {name: 'get_time', parse: (s) => Time.parse(JSON.parse(s)),
        function: (args) => { seen.push(['get_time', args]); return '12:00'; },
        parameters: tools[1].function.parameters}},
    ]}, {maxChatCompletions: 3});
  await runner.done();
  const completions = runner.allChatCompletions();
  assert.equal(completions.length, 3, 'tool_choice required keeps calling until maxChatCompletions');
  assert.ok(seen.length === 3, `functions ran ${seen.length} times`);
  const toolMessages = runner.messages.filter((m) => m.role === 'tool');
  assert.equal(toolMessages.length, seen.length);
  const ids = new Set(runner.messages.filter((m) => m.role === 'assistant').flatMap((m) => m.tool_calls.map((c) => c.id)));
  for (const m of toolMessages) assert.ok(ids.has(m.tool_call_id));
});

test('tool_choice auto and none are accepted; none never returns calls', async () => {
  const auto = await client.chat.completions.create({model, messages, tools, tool_choice: 'auto', max_tokens: 8});
  assert.ok(['stop', 'length', 'tool_calls'].includes(auto.choices[0].finish_reason));
  const none = await client.chat.completions.create({model, messages, tools, tool_choice: 'none', max_tokens: 8});
  assert.equal(none.choices[0].message.tool_calls, undefined);
});

test('response_format json_schema through the zod helper: parsed and valid', async () => {
  const Person = z.object({name: z.string().regex(/^[A-Za-z ]{1,12}$/), age: z.number().int(), tags: z.array(z.enum(['a', 'b'])).max(2)});
  const r = await client.chat.completions.parse({
    model, max_tokens: 150, messages: [{role: 'user', content: 'Describe a person.'}], ...noThinking,
    response_format: zodResponseFormat(Person, 'person')});
  const message = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'stop');
  Person.parse(message.parsed);
  assert.deepEqual(Object.keys(JSON.parse(message.content)), ['name', 'age', 'tags'], 'the schema order');
});

test('response_format json_object gives a JSON object', async () => {
  const r = await client.chat.completions.create({
    model, max_tokens: 60, messages: [{role: 'user', content: 'JSON please'}], response_format: {type: 'json_object'},
    ...noThinking,
    // Random weights ramble: keep the object small by banning nothing but letting max_tokens end it if it must.
  });
  if (r.choices[0].finish_reason === 'stop') {
    const value = JSON.parse(r.choices[0].message.content);
    assert.equal(typeof value, 'object');
    assert.ok(!Array.isArray(value));
  } else {
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.ok(r.choices[0].message.content.startsWith('{'));
  }
});

test('reasoning_content: a <think> block is split from the content, whole and streamed', async () => {
  // The grammar extension forces a reply with a thought, so the split is checked whatever the weights say.
  const body = {model, temperature: 0, max_tokens: 60, messages: [{role: 'user', content: 'Think, then answer.'}],
    grammar: 'root ::= "<think>\\n" [a-z]{2,8} (" " [a-z]{2,8}){1,3} "\\n</think>\\n\\n" [A-Z] [a-z]{2,10} "."'};
  const r = await client.chat.completions.create(body);
  const message = r.choices[0].message;
  assert.match(message.reasoning_content, /^[a-z]+( [a-z]+)+$/);
  assert.match(message.content, /^[A-Z][a-z]+\.$/);
  const stream = await client.chat.completions.create({...body, stream: true});
  let reasoning = '';
  let content = '';
  for await (const chunk of stream) {
    const d = chunk.choices[0] && chunk.choices[0].delta;
    if (!d) continue;
    reasoning += d.reasoning_content || '';
    content += d.content || '';
  }
  assert.equal(reasoning, message.reasoning_content);
  assert.equal(content, message.content);
});

test('with thinking on, a forced call follows the thought: the grammar starts after </think>', async () => {
  // The bias makes the first token <think> (the one token besides the grammar's that may open a reply) and
  // the second </think>; the call after them is still the grammar's.
  const [open, close] = JSON.parse(process.env.TORCHLLM_THINK_IDS);
  const r = await client.chat.completions.create({model, messages, tools, tool_choice: 'required', max_tokens: 120,
    parallel_tool_calls: false, logprobs: true, logit_bias: {[open]: 50, [close]: 100}});
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  choice.message.tool_calls.forEach(checkCall);
  assert.deepEqual(choice.logprobs.content.slice(0, 2).map((t) => t.token), ['<think>', '</think>']);
});

test('an unsupported schema keyword is a 400 naming it', async () => {
  await assert.rejects(client.chat.completions.create({model, messages, response_format: {type: 'json_schema',
    json_schema: {name: 'x', schema: {type: 'object', properties: {n: {type: 'integer', multipleOf: 3}}}}}}),
  (e) => e instanceof OpenAI.BadRequestError && /multipleOf/.test(e.message));
});

(async () => {
  let failed = 0;
  for (const t of tests) {
    try {
      await t.fn();
      console.log(`ok   ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}: ${e && e.stack || e}`);
    }
  }
  console.log(`openai sdk: ${tests.length - failed} of ${tests.length} tool/structured-output checks passed`);
  process.exit(failed ? 1 : 0);
})();
