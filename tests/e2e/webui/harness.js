// What the chat page's browser tests share: a `torchllm serve` process, Debian's chromium through
// playwright-core, and small checks that count failures instead of stopping at the first.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const kSkip = 77;

function skip(why) {
  console.log('SKIP ' + why);
  process.exit(kSkip);
}

// Debian's chromium (tools/install-deps.sh installs it); nothing downloads a browser.
function findChromium() {
  for (const candidate of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  return null;
}

function loadPlaywright(nodeModules) {
  try {
    return require(path.resolve(nodeModules, 'playwright-core'));
  } catch (e) {
    return null;
  }
}

let failures = 0;
function ok(name) { console.log('ok   ' + name); }
function fail(name, why) {
  failures += 1;
  console.log('FAIL ' + name + ': ' + why);
}
function check(name, condition, why) {
  if (condition) ok(name);
  else fail(name, why === undefined ? 'not true' : typeof why === 'function' ? why() : why);
  return Boolean(condition);
}
function failureCount() { return failures; }

// Runs one scenario; an exception fails it and the run goes on.
async function scenario(name, fn) {
  console.log('# ' + name);
  try {
    await fn();
  } catch (e) {
    fail(name, (e && e.stack) || String(e));
  }
}

// `torchllm serve` on a free port; resolves once /health answers 200.
async function startServer(torchllm, args, logFile) {
  const log = fs.openSync(logFile, 'w');
  const child = spawn(torchllm, ['serve', '--device', 'cpu', '--port', '0', ...args], { stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = code === null ? signal : code; });
  const deadline = Date.now() + 120000;
  let base = '';
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error('the server exited (' + exited + '): ' + fs.readFileSync(logFile, 'utf8'));
    if (!base) {
      const m = /listening on (http:\/\/\S+)/.exec(fs.readFileSync(logFile, 'utf8'));
      if (m) base = m[1];
    }
    if (base) {
      try {
        if ((await fetch(base + '/health')).status === 200) return { child, base, log: logFile };
      } catch (e) { /* not listening yet */ }
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the server did not become ready: ' + fs.readFileSync(logFile, 'utf8'));
}

async function stopServer(server) {
  if (!server || server.child.exitCode !== null) return;
  const done = new Promise((resolve) => server.child.on('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10000);
  await done;
  clearTimeout(timer);
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

// One value of the server's Prometheus text (`name` with its labels as written), or NaN.
async function metric(base, name) {
  const text = await (await fetch(base + '/metrics')).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ')) return Number(line.slice(name.length + 1));
  }
  return NaN;
}

async function waitFor(what, predicate, timeoutMs) {
  const deadline = Date.now() + (timeoutMs || 30000);
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await sleep(50);
  }
}

module.exports = { kSkip, skip, findChromium, loadPlaywright, ok, fail, check, failureCount, scenario, startServer, stopServer, sleep, metric, waitFor };
