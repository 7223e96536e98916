// The Vercel AI SDK (ai 5 with @ai-sdk/openai-compatible) against torchllm serve: generateText with tools over
// several steps, and generateObject with a zod schema. Strings are bounded by patterns (zod's .max counts UTF-16
// units, JSON Schema's maxLength code points, so a random emoji would satisfy one and not the other). The model has random weights, so the tools are forced
// (toolChoice required) and the object comes from the json_schema grammar: this proves the SDK's wire
// handling end to end (tool calls parsed, local tools executed, results sent back as tool messages, the
// structured output parsed and validated), not the model's answers.
//   node serve_tools_ai_sdk_test.js   (TORCHLLM_BASE_URL, TORCHLLM_MODEL, NODE_PATH=the clients' node_modules)
'use strict';
const assert = require('node:assert/strict');
const {generateText, generateObject, tool, stepCountIs} = require('ai');
const {createOpenAICompatible} = require('@ai-sdk/openai-compatible');
const {z} = require('zod');

const provider = createOpenAICompatible({name: 'torchllm', baseURL: process.env.TORCHLLM_BASE_URL + '/v1',
  apiKey: 'none', supportsStructuredOutputs: true});
const model = provider(process.env.TORCHLLM_MODEL);

const tests = [];
const test = (name, fn) => tests.push({name, fn});

test('generateText with two tools over three steps', async () => {
  const ran = [];
  const result = await generateText({
    model, maxOutputTokens: 100, toolChoice: 'required', stopWhen: stepCountIs(3), maxRetries: 0,
    // Thinking off: the forced calls would otherwise follow a thought, which random weights may never close.
    providerOptions: {torchllm: {parallel_tool_calls: false, chat_template_kwargs: {enable_thinking: false}}},
    prompt: 'Weather in Paris?',
    tools: {
      get_weather: tool({description: 'Current weather in a city',
        inputSchema: z.object({city: z.string().regex(/^[a-z]{1,8}$/)}),
        execute: async ({city}) => { ran.push(['get_weather', city]); return '21C'; }}),
      get_time: tool({description: 'Current time in a timezone',
        inputSchema: z.object({timezone: z.string().regex(/^[a-z]{1,8}$/)}),
        execute: async ({timezone}) => { ran.push(['get_time', timezone]); return '12:00'; }}),
    },
  });
  assert.equal(result.steps.length, 3);
  for (const step of result.steps) {
    assert.equal(step.finishReason, 'tool-calls');
    assert.ok(step.toolCalls.length >= 1);
    assert.equal(step.toolResults.length, step.toolCalls.length);
    for (const call of step.toolCalls) assert.ok(['get_weather', 'get_time'].includes(call.toolName));
  }
  assert.equal(ran.length, result.steps.reduce((n, s) => n + s.toolCalls.length, 0));
  // Steps after the first were sent the earlier calls and their results.
  const sent = result.steps[2].request.body;
  const body = typeof sent === 'string' ? JSON.parse(sent) : sent;
  assert.ok(body.messages.some((m) => m.role === 'tool'), 'tool results went back to the server');
  assert.ok(body.messages.some((m) => m.role === 'assistant' && m.tool_calls && m.tool_calls.length));
});

test('generateObject with a zod schema', async () => {
  const schema = z.object({title: z.string().regex(/^[A-Za-z ]{1,12}$/), year: z.number().int(), genres: z.array(z.enum(['drama', 'comedy'])).max(2)});
  const {object, finishReason} = await generateObject({model, schema, maxOutputTokens: 150, maxRetries: 0,
    prompt: 'Invent a film.'});
  assert.equal(finishReason, 'stop');
  schema.parse(object);
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
  console.log(`ai sdk: ${tests.length - failed} of ${tests.length} checks passed`);
  process.exit(failed ? 1 : 0);
})();
