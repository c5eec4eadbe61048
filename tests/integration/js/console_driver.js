// console_driver.js - drives Debian's Chromium (headless, through playwright-core) for
// tests/integration/test_console.py. One JSON command per stdin line, one JSON answer per
// stdout line ({"id", "ok", "result"} or {"id", "ok": false, "error"}):
//   {"op": "launch", "executable": "/usr/bin/chromium"}
//   {"op": "goto", "url": ...}            {"op": "wait", "expr": js, "timeout_ms": n}
//   {"op": "eval", "expr": js}            {"op": "click", "selector": css}
//   {"op": "screenshot", "path": png}     {"op": "events"}  (console errors, page errors,
//   {"op": "close"}                        failed requests and dialogs since the last call)
// Every confirm() dialog is accepted (and recorded). Nothing is downloaded: the browser is
// the system's.
'use strict';

const readline = require('readline');
const { chromium } = require('playwright-core');

let browser = null;
let page = null;
let events = [];

function record(kind, text) { events.push({ kind, text: String(text) }); }

async function launch(cmd) {
  browser = await chromium.launch({
    executablePath: cmd.executable || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') record('console.' + m.type(), m.text());
  });
  page.on('pageerror', (e) => record('pageerror', e.stack || e.message));
  page.on('requestfailed', (r) => record('requestfailed', r.url() + ' ' + (r.failure() || {}).errorText));
  page.on('dialog', async (d) => { record('dialog', d.type() + ': ' + d.message()); await d.accept(); });
  return chromiumVersion();
}

function chromiumVersion() { return browser.version(); }

async function handle(cmd) {
  switch (cmd.op) {
    case 'launch': return launch(cmd);
    case 'goto': await page.goto(cmd.url, { waitUntil: 'load', timeout: 15000 }); return page.url();
    case 'wait':
      await page.waitForFunction(cmd.expr, null, { timeout: cmd.timeout_ms || 15000, polling: 100 });
      return true;
    case 'eval': return page.evaluate(cmd.expr);
    case 'click': await page.click(cmd.selector, { timeout: 10000 }); return true;
    case 'screenshot': await page.screenshot({ path: cmd.path, fullPage: true }); return cmd.path;
    case 'events': { const e = events; events = []; return e; }
    case 'close': if (browser) await browser.close(); browser = null; return true;
    default: throw new Error('unknown op ' + cmd.op);
  }
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let cmd;
    try { cmd = JSON.parse(line); } catch (e) { return; }
    let answer;
    try {
      answer = { id: cmd.id, ok: true, result: await handle(cmd) };
    } catch (e) {
      answer = { id: cmd.id, ok: false, error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
rl.on('close', () => { chain.then(async () => { if (browser) await browser.close(); process.exit(0); }); });
