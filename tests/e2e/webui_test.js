// The chat page (GET /) in Debian's chromium, headless, against a live `torchllm serve`: streaming, Stop (the
// server's running count drops to 0), reload, switching conversations, edit-and-regenerate, Markdown with
// hostile model output rendered inert, export/import, the API-key flow, readable errors, a 320-pixel-wide
// screen, light and dark, --no-webui. Screenshots go to ARTIFACTS_DIR. Exits 77 (skip) without chromium or
// playwright-core.
//   node webui_test.js TORCHLLM MAKE_TINY_CHECKPOINT NODE_MODULES ARTIFACTS_DIR DEMO_MODEL_DIR
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const h = require('./webui/harness.js');
const { check, scenario, sleep, waitFor, metric } = h;

const [torchllm, makeCheckpoint, nodeModules, artifacts, demoModel] = process.argv.slice(2);
const chromiumPath = h.findChromium();
if (!chromiumPath) h.skip('chromium is not installed (apt-get install chromium; tools/install-deps.sh does)');
const playwright = h.loadPlaywright(nodeModules);
if (!playwright) h.skip('playwright-core is missing from ' + nodeModules + ' (npm could not fetch it?)');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchllm-webui-'));
fs.mkdirSync(artifacts, { recursive: true });

// The trained demo model when it is there, else a random tiny chat model.
function modelDir() {
  if (demoModel && fs.existsSync(path.join(demoModel, 'config.json'))) return demoModel;
  const dir = path.join(work, 'tiny-chat');
  execFileSync(makeCheckpoint, ['qwen3-chat', dir, '7']);
  return dir;
}

async function chat(base, body, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  const r = await fetch(base + '/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

// A page that records what it requests, every script error and every Content-Security-Policy violation.
async function openPage(context, base, options) {
  const page = await context.newPage();
  page.foreign = [];
  page.errors = [];
  page.on('request', (r) => { if (!/^(blob|data):/.test(r.url()) && !r.url().startsWith(base + '/')) page.foreign.push(r.url()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    // The 401s of the key flow, the 400 of the too-long prompt and the 503 of the full queue are expected; CSP reports are checked through
    // securitypolicyviolation events.
    if (m.type() === 'error' && !/status of (400|401|503)|Content Security Policy/.test(m.text())) page.errors.push(m.text());
  });
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI));
  });
  await page.goto(base + '/');
  if (!options || options.waitModel !== false) await page.waitForFunction(() => document.getElementById('model-name').textContent !== '');
  return page;
}

// The page's own files never trip the policy; only inline handlers in hostile model output may (the parser
// that DOMPurify uses reports them before they are removed).
async function checkPolicy(page, name) {
  const violations = await page.evaluate(() => window.cspViolations);
  const unexpected = violations.filter((v) => !/^script-src-attr inline$/.test(v));
  check(name + ': no Content-Security-Policy violation but blocked inline handlers', unexpected.length === 0, JSON.stringify(unexpected));
}

async function send(page, text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

async function replyDone(page) {
  await page.waitForFunction(() => document.getElementById('stop').hidden && !document.querySelector('.body.pending'), null, { timeout: 60000 });
}

async function stored(page) {
  return page.evaluate(() => {
    const ids = JSON.parse(localStorage.getItem('torchllm.conversations') || '[]');
    return ids.map((id) => JSON.parse(localStorage.getItem('torchllm.conversation.' + id)));
  });
}

async function current(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('torchllm.conversation.' + localStorage.getItem('torchllm.current'))));
}

async function setSettings(page, values) {
  await page.click('#settings-button');
  for (const [key, value] of Object.entries(values)) await page.fill('#set-' + key, String(value));
  await page.click('#settings-save');
}

async function newChat(page) {
  await page.click('#new-chat');
}

// Whether any element of the page is wider than the viewport or sticks out of it.
async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const bad = [];
    if (document.documentElement.scrollWidth > width) bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
    for (const e of document.querySelectorAll('#topbar *, #composer *, .message .role, .message .meta *, .message.user .body, #banner')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || e.closest('[hidden]')) continue;
      if (r.left < -0.5 || r.right > width + 0.5) bad.push((e.id || e.className || e.tagName) + ' spans ' + r.left.toFixed(0) + '..' + r.right.toFixed(0));
    }
    return bad;
  });
}

const kMarkdownReply = [
  '<think>The user wants a demonstration.</think>',
  '# Heading',
  '',
  '- one',
  '- two',
  '',
  '| a | b |', '|---|---|', '| 1 | 2 |',
  '',
  '```python',
  'def add(a, b):',
  '    return a + b',
  '```',
  '',
  'A [safe link](https://example.org/) and a [bad one](javascript:window.pwned=1) and <a href="javascript:window.pwned=2">raw</a>.',
  '',
  '<img src=x onerror="window.pwned=3"> <svg onload="window.pwned=4"></svg> <script>window.pwned=5</script>',
  '<iframe src="javascript:parent.pwned=6"></iframe> <b onmouseover="window.pwned=7">bold</b>',
  '<form action="https://example.org/"><input name=q></form> <img src="https://example.org/track.png">',
].join('\n');

async function main() {
  const model = modelDir();
  const server = await h.startServer(torchllm, ['-m', model, '--parallel', '2'], path.join(artifacts, 'server.log'));
  const base = server.base;
  const browser = await playwright.chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  let keyServer = null;
  try {
    await scenario('the page and its files: types, caching, CSP', async () => {
      const page = await fetch(base + '/');
      const html = await page.text();
      const csp = page.headers.get('content-security-policy') || '';
      check('GET / is HTML', page.status === 200 && page.headers.get('content-type') === 'text/html; charset=utf-8', page.status + ' ' + page.headers.get('content-type'));
      check('the CSP runs only the server\'s own scripts', /script-src 'self'/.test(csp) && /default-src 'none'/.test(csp) && /connect-src 'self'/.test(csp) && !/unsafe/.test(csp), csp);
      check('the page is revalidated', page.headers.get('cache-control') === 'no-cache' && /^"[0-9a-f]{16}"$/.test(page.headers.get('etag')), page.headers.get('cache-control') + ' ' + page.headers.get('etag'));
      const again = await fetch(base + '/', { headers: { 'If-None-Match': page.headers.get('etag') } });
      check('If-None-Match gives 304', again.status === 304 && (await again.text()) === '', again.status);
      const scripts = [...html.matchAll(/src="(\/assets\/[0-9a-f]{16}\/[\w.-]+)"/g)].map((m) => m[1]);
      check('the page names its scripts by content hash', scripts.length >= 6, scripts.join(' '));
      for (const url of scripts.concat([...html.matchAll(/href="(\/assets\/[^"]+\.css)"/g)].map((m) => m[1]))) {
        const r = await fetch(base + url);
        const type = url.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
        check(url + ' type and caching', r.status === 200 && r.headers.get('content-type') === type && /immutable/.test(r.headers.get('cache-control')) && r.headers.get('x-content-type-options') === 'nosniff', r.status + ' ' + r.headers.get('content-type') + ' ' + r.headers.get('cache-control'));
      }
      const missing = await fetch(base + '/assets/0000000000000000/app.js');
      check('an unknown asset is 404 JSON', missing.status === 404 && (await missing.json()).error, missing.status);
    });

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await openPage(context, base);

    await scenario('Enter sends; the reply streams in token by token; stats', async () => {
      await page.fill('#input', 'line one');
      await page.press('#input', 'Shift+Enter');
      await page.type('#input', 'line two');
      check('Shift+Enter starts a new line', (await page.inputValue('#input')) === 'line one\nline two', await page.inputValue('#input'));
      await setSettings(page, { temperature: 0, max_tokens: '', system: 'You are terse.' });
      await page.evaluate(() => {
        window.lengths = [];
        new MutationObserver(() => {
          const body = document.querySelector('article.assistant:last-of-type .body.pending');
          if (body) window.lengths.push(body.textContent.length);
        }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
      });
      await page.press('#input', 'Enter');
      await replyDone(page);
      const lengths = await page.evaluate(() => window.lengths);
      const distinct = [...new Set(lengths)].filter((n) => n > 0);
      console.log('     reply lengths while streaming: ' + JSON.stringify(distinct));
      check('the reply grew in several steps while streaming', distinct.length >= 3, 'lengths seen: ' + JSON.stringify(lengths.slice(0, 40)));
      const c = await current(page);
      const reply = c.messages[1];
      const direct = await chat(base, { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'line one\nline two' }], temperature: 0 });
      check('the reply is what the server generates for the conversation', reply && direct.body.choices && reply.content === direct.body.choices[0].message.content, () => JSON.stringify([reply && reply.content, direct.body]));
      const stats = await page.textContent('article.assistant .stats');
      check('the reply shows tokens, tok/s and time to first token', /^\d+ tokens? · [\d.]+ tok\/s · first token \d+ ms$/.test(stats), stats);
      check('the conversation is titled by its first message', (await page.textContent('#title')) === 'line one', await page.textContent('#title'));
      await page.screenshot({ path: path.join(artifacts, 'desktop-streamed-light.png') });
    });

    await scenario('Stop (and Esc) cancel the generation on the server', async () => {
      for (const how of ['button', 'Esc']) {
        let cancelled = false;
        for (let attempt = 0; attempt < 12 && !cancelled; ++attempt) {
          await newChat(page);
          await setSettings(page, { temperature: attempt === 0 ? 0 : 1, max_tokens: '', seed: 11 + attempt });
          const before = await metric(base, 'torchllm_generations_finished_total{reason="cancelled"}') || 0;
          // The demo model continues this without end under greedy decoding (a random model does so with anything).
          await send(page, 'In the beginning');
          await page.waitForFunction(() => { const b = document.querySelector('.body.pending'); return !b || b.textContent.length > 0; });
          if (how === 'button') await page.click('#stop', { timeout: 1000 }).catch(() => {});
          else await page.keyboard.press('Escape');
          await replyDone(page);
          const reply = (await current(page)).messages[1];
          if (!reply.stopped) continue;  // the model finished before the click
          await waitFor('running 0', async () => (await metric(base, 'torchllm_requests_running')) === 0, 5000);
          const after = await waitFor('the cancellation to be counted', async () => {
            const n = await metric(base, 'torchllm_generations_finished_total{reason="cancelled"}');
            return n > before ? n : 0;
          }, 3000).catch(() => before);
          // The server may have finished just before the click, its last tokens still on the way (a faster
          // decode makes that more likely): try again.
          // A Stop that never cancels fails every attempt.
          console.log('     ' + how + ': stopped after ' + reply.content.length + ' characters, attempt ' + (attempt + 1) + ', server cancellations ' + before + ' -> ' + after);
          if (after === before) continue;
          check(how + ': /metrics shows no running request', (await metric(base, 'torchllm_requests_running')) === 0);
          check(how + ': the reply is kept and marked stopped', await page.isVisible('article.assistant .stopped'));
          cancelled = true;
        }
        check(how + ': the server cancelled a running generation', cancelled, 'no attempt was cancelled on the server');
      }
    });

    await scenario('reload keeps the conversations; switching between them', async () => {
      const before = await stored(page);
      await page.reload();
      await page.waitForFunction(() => document.getElementById('model-name').textContent !== '');
      const after = await stored(page);
      check('every conversation survives a reload', JSON.stringify(after) === JSON.stringify(before), JSON.stringify(after).slice(0, 300));
      const titles = await page.$$eval('#conversations li .open', (b) => b.map((x) => x.textContent));
      check('the sidebar lists them', titles.length === before.length && titles.includes('line one'), JSON.stringify(titles));
      await page.click('#conversations li:has-text("line one") .open');
      check('switching shows that conversation', (await page.textContent('article.user .body')) === 'line one\nline two' && (await page.textContent('#title')) === 'line one');
      await page.click('#conversations li:has-text("In the beginning") >> nth=0 >> .open');
      check('and back', (await page.textContent('article.user .body')) === 'In the beginning');
    });

    await scenario('edit a message and regenerate; regenerate the last reply', async () => {
      await page.click('#conversations li:has-text("line one") .open');
      await setSettings(page, { temperature: 0, max_tokens: 24, seed: '' });
      await page.click('article.user [data-action="edit"]');
      await page.fill('article.user .edit textarea', 'Tell me about cats.');
      await page.click('article.user [data-action="edit-save"]');
      await replyDone(page);
      const c = await current(page);
      check('the conversation was cut at the edited message', c.messages.length === 2 && c.messages[0].content === 'Tell me about cats.', JSON.stringify(c.messages).slice(0, 300));
      const direct = await chat(base, { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me about cats.' }], temperature: 0, max_tokens: 24 });
      check('the new reply answers the edited message', c.messages[1].content === direct.body.choices[0].message.content, () => JSON.stringify([c.messages[1].content, direct.body.choices[0].message.content]));
      await setSettings(page, { temperature: 1, seed: 5 });
      await page.click('article.assistant [data-action="regenerate"]');
      await replyDone(page);
      const r = await current(page);
      const seeded = await chat(base, { messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me about cats.' }], temperature: 1, seed: 5, max_tokens: 24 });
      check('Regenerate replaces the last reply', r.messages.length === 2 && r.messages[1].content === seeded.body.choices[0].message.content, () => JSON.stringify([r.messages[1].content, seeded.body.choices[0].message.content]));
    });

    await scenario('Markdown, highlighting, copy, reasoning; hostile output is inert', async () => {
      const file = path.join(work, 'hostile.json');
      fs.writeFileSync(file, JSON.stringify([{ role: 'system', content: 'Be helpful.' }, { role: 'user', content: 'Show me <b>markdown</b>' }, { role: 'assistant', content: kMarkdownReply }]));
      await page.setInputFiles('#import-file', file);
      await page.waitForSelector('article.assistant h1');
      const body = 'article.assistant .body';
      check('the user message is shown as text', (await page.textContent('article.user .body')) === 'Show me <b>markdown</b>' && !(await page.$('article.user .body b')));
      check('a table', await page.$(body + ' .table-wrap table td'));
      check('a list', (await page.$$(body + ' ul li')).length === 2);
      check('highlighted code', await page.$(body + ' pre code.hljs .hljs-keyword'));
      await page.click(body + ' pre .copy');
      await sleep(100);
      const clip = await page.evaluate(() => navigator.clipboard.readText());
      check('the copy button copies the code', clip === 'def add(a, b):\n    return a + b\n', JSON.stringify(clip));
      check('reasoning is collapsed', (await page.$eval('article.assistant details.reasoning', (d) => !d.open && d.textContent.includes('The user wants a demonstration.'))));
      check('no <think> text in the answer', !(await page.textContent(body)).includes('demonstration'));
      await page.hover(body + ' b').catch(() => {});
      await page.click(body + ' a:has-text("bad one")').catch(() => {});
      await page.click(body + ' a:has-text("raw")').catch(() => {});
      await sleep(300);
      check('no script from the reply ran', (await page.evaluate(() => window.pwned)) === undefined, await page.evaluate(() => String(window.pwned)));
      const dangerous = await page.$$eval('#messages *', (all) => all.filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) || /^(SCRIPT|IFRAME|FORM|INPUT|STYLE)$/.test(e.tagName)).map((e) => e.outerHTML));
      check('no handler, javascript: URL, script, iframe or form in the reply', dangerous.length === 0, dangerous.join(' '));
      check('links open in a new tab without a referrer', await page.$eval(body + ' a[href="https://example.org/"]', (a) => a.target === '_blank' && a.rel.includes('noreferrer')));
      check('no remote image', (await page.$$eval(body + ' img', (imgs) => imgs.filter((i) => i.getAttribute('src')).length)) === 0);
      check('the system prompt came with the import', (await current(page)).system === 'Be helpful.');
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.emulateMedia({ colorScheme: 'light' });
      await page.screenshot({ path: path.join(artifacts, 'desktop-light.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      await page.screenshot({ path: path.join(artifacts, 'desktop-dark.png') });
      await page.emulateMedia({ colorScheme: 'light' });
      const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      check('light and dark follow the system', light === 'rgb(255, 255, 255)' && dark !== light, light + ' / ' + dark);
    });

    await scenario('export, rename, delete; the export is what torchllm chat /save writes', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#conversations li.current [data-action="export"]')]);
      const file = path.join(work, 'export.json');
      await download.saveAs(file);
      const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
      check('the export is a {role, content} array, system first', exported.length === 3 && exported[0].role === 'system' && exported.every((m) => Object.keys(m).join() === 'role,content'), JSON.stringify(exported).slice(0, 200));
      let rendered = '';
      try {
        rendered = execFileSync(torchllm, ['template', '-m', model, '--messages', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) { rendered = String(e.stderr || e); }
      check('torchllm template reads the export', rendered.includes('Be helpful.'), rendered.slice(0, 300));
      page.once('dialog', (d) => d.accept('Renamed chat'));
      await page.click('#conversations li.current [data-action="rename"]');
      check('rename', (await page.textContent('#conversations li.current .open')) === 'Renamed chat' && (await current(page)).title === 'Renamed chat');
      const count = (await stored(page)).length;
      page.once('dialog', (d) => d.accept());
      await page.click('#conversations li.current [data-action="delete"]');
      check('delete', (await stored(page)).length === count - 1 && !(await page.$('#conversations li:has-text("Renamed chat")')));
    });

    await scenario('a prompt longer than the context is a readable error', async () => {
      await newChat(page);
      await send(page, 'word '.repeat(3000));
      await replyDone(page);
      const error = await page.textContent('article.assistant .error');
      check('the reply says the conversation is too long', /too long/i.test(error), error);
    });

    await scenario('a 320-pixel-wide screen, light and dark', async () => {
      const phone = await browser.newContext({ viewport: { width: 320, height: 640 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      const p = await openPage(phone, base);
      const file = path.join(work, 'phone.json');
      fs.writeFileSync(file, JSON.stringify([{ role: 'user', content: 'A long word: ' + 'x'.repeat(120) }, { role: 'assistant', content: kMarkdownReply + '\n\n```\n' + 'wide_code_line = 1; '.repeat(12) + '\n```' }]));
      await p.setInputFiles('#import-file', file);
      await p.waitForSelector('article.assistant h1');
      const bad = await overflow(p);
      check('nothing sticks out at 320 px', bad.length === 0, bad.join('; '));
      check('the composer buttons are on screen', await p.isVisible('#send') && (await p.$eval('#send', (b) => b.getBoundingClientRect().right)) <= 320);
      await p.emulateMedia({ colorScheme: 'light' });
      await p.screenshot({ path: path.join(artifacts, 'phone-light.png') });
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.screenshot({ path: path.join(artifacts, 'phone-dark.png') });
      await p.click('#open-sidebar');
      await sleep(300);
      const side = await p.$eval('#sidebar', (s) => s.getBoundingClientRect().toJSON());
      check('the conversation list opens as a drawer', side.left >= 0 && side.right <= 320 && side.width > 200, JSON.stringify(side));
      await p.screenshot({ path: path.join(artifacts, 'phone-dark-sidebar.png') });
      await p.click('#scrim', { position: { x: 315, y: 320 } });
      await sleep(300);
      check('tapping beside the drawer closes it', (await p.$eval('#sidebar', (s) => s.getBoundingClientRect().right)) <= 0);
      await checkPolicy(p, 'phone');
      check('no script errors, nothing requested elsewhere (phone)', p.errors.length === 0 && p.foreign.length === 0, JSON.stringify([p.errors, p.foreign]));
      await phone.close();
    });

    check('no script errors on the desktop page', page.errors.length === 0, JSON.stringify(page.errors));
    await checkPolicy(page, 'desktop');
    check('the page requested nothing from anywhere but its server', page.foreign.length === 0, JSON.stringify(page.foreign));
    await context.close();

    await scenario('the API-key flow', async () => {
      const key = 'webui-key-' + process.pid;
      keyServer = await h.startServer(torchllm, ['-m', model, '--api-key', key], path.join(artifacts, 'server-key.log'));
      const ctx = await browser.newContext();
      const p = await openPage(ctx, keyServer.base, { waitModel: false });
      await p.waitForSelector('#key-dialog[open]');
      check('the page asks for the key', /API key/.test(await p.textContent('#key-reason')), await p.textContent('#key-reason'));
      await p.fill('#key-input', 'wrong');
      await p.click('#key-save');
      await p.waitForSelector('#key-dialog[open]');
      check('a wrong key is refused, readably', /refused/.test(await p.textContent('#key-reason')), await p.textContent('#key-reason'));
      await p.fill('#key-input', key);
      await p.click('#key-save');
      await p.waitForFunction(() => document.getElementById('model-name').textContent !== '');
      check('the right key is accepted', !(await p.$('#key-dialog[open]')));
      await setSettings(p, { max_tokens: 8 });
      await send(p, 'hello');
      await replyDone(p);
      check('a reply streams with the key', !(await p.isVisible('article.assistant .error')) && (await current(p)).messages[1].content.length > 0);
      await p.reload();
      await p.waitForFunction(() => document.getElementById('model-name').textContent !== '');
      check('the key is kept in the browser', !(await p.$('#key-dialog[open]')));
      await p.evaluate(() => localStorage.setItem('torchllm.apiKey', 'stale'));
      await send(p, 'again');
      await replyDone(p);
      check('a 401 while chatting shows a readable error and asks again', /API key/.test(await p.textContent('article.assistant:last-of-type .error')) && await p.$('#key-dialog[open]'));
      check('no script errors (key flow)', p.errors.length === 0, JSON.stringify(p.errors));
      await ctx.close();
    });
  } finally {
    await browser.close();
    await h.stopServer(server);
    await h.stopServer(keyServer);
  }

  await scenario('a full queue is a readable 503', async () => {
    const busy = await h.startServer(torchllm, ['-m', model, '--parallel', '1', '--max-queue', '0'], path.join(artifacts, 'server-busy.log'));
    const b = await playwright.chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    try {
      const ctx = await b.newContext();
      const first = await openPage(ctx, busy.base);
      const second = await openPage(ctx, busy.base);
      let shown = '';
      for (let attempt = 0; attempt < 5 && !/busy/.test(shown); ++attempt) {
        await newChat(first);
        await setSettings(first, { temperature: 0, max_tokens: '' });
        await send(first, 'In the beginning');  // endless under greedy decoding on the demo model
        await waitFor('the slot to be taken', async () => (await metric(busy.base, 'torchllm_requests_running')) === 1, 5000).catch(() => {});
        await newChat(second);
        await send(second, 'Me too.');
        await replyDone(second);
        shown = (await second.textContent('article.assistant:last-of-type .error')) || '';
        await first.keyboard.press('Escape');
        await replyDone(first);
      }
      check('the reply says the server is busy', /busy/.test(shown) && /try again/i.test(shown), shown);
    } finally {
      await b.close();
      await h.stopServer(busy);
    }
  });

  await scenario('--no-webui', async () => {
    const off = await h.startServer(torchllm, ['-m', model, '--no-webui'], path.join(artifacts, 'server-no-webui.log'));
    try {
      const r = await fetch(off.base + '/');
      check('GET / is 404 with --no-webui', r.status === 404, r.status);
      check('the API still answers', (await fetch(off.base + '/v1/models')).status === 200);
    } finally {
      await h.stopServer(off);
    }
  });
}

main().catch((e) => h.fail('webui test', (e && e.stack) || String(e))).finally(() => {
  fs.rmSync(work, { recursive: true, force: true });
  console.log(h.failureCount() === 0 ? 'all passed' : h.failureCount() + ' failed');
  process.exit(h.failureCount() === 0 ? 0 : 1);
});
