// Test harness: a fake collector and a page server on 127.0.0.1 (two origins, so CORS is
// exercised as on a real storefront), and headless Debian Chromium driven by playwright-core.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dir = fileURLToPath(new URL('..', import.meta.url));
export const SDK = process.env.BESPOKE_SDK || dir + 'dist/bespoke.min.js';
export const WRITE_KEY = 'wk_test_123';

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

// startCollector records every request. `plan` holds the answers for the next POSTs to
// /v1/batch ({status, retryAfter, body}); when it is empty the answer is 200.
// `down = true` makes it drop connections without answering.
export async function startCollector() {
  const c = {
    requests: [], // {method, path, headers, raw, body, bytes, at}
    plan: [],
    down: false,
    sockets: new Set(),
    batches() {
      return this.requests.filter((r) => r.method === 'POST' && r.path === '/v1/batch' && r.answered === 200);
    },
    delivered() {
      return this.batches().flatMap((r) => r.body.batch);
    },
    async waitFor(pred, ms = 5000, what = 'condition') {
      const end = Date.now() + ms;
      for (;;) {
        const v = pred(this);
        if (v) return v;
        if (Date.now() > end) throw new Error(`collector: timed out after ${ms} ms waiting for ${what}; got ${this.requests.length} requests`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const rec = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        bytes: raw.length,
        raw: raw.toString('utf8'),
        at: Date.now()
      };
      try {
        rec.body = raw.length ? JSON.parse(rec.raw) : null;
      } catch {
        rec.body = null;
      }
      c.requests.push(rec);
      const cors = {
        'Access-Control-Allow-Origin': req.headers.origin || '*',
        'Access-Control-Allow-Methods': 'POST, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, Content-Encoding',
        'Access-Control-Expose-Headers': 'Retry-After',
        'Access-Control-Max-Age': '600',
        'Access-Control-Allow-Credentials': 'true', // sendBeacon sends in credentials mode 'include'
        Vary: 'Origin'
      };
      if (req.method === 'OPTIONS') {
        rec.answered = 204;
        res.writeHead(204, cors).end();
        return;
      }
      if (c.down) {
        rec.answered = 0;
        req.socket.destroy();
        return;
      }
      let step = { status: 200 };
      if (req.method === 'POST' && req.url === '/v1/batch' && c.plan.length) step = c.plan.shift();
      const h = { ...cors, 'Content-Type': 'application/json' };
      if (step.retryAfter != null) h['Retry-After'] = String(step.retryAfter);
      rec.answered = step.status;
      res.writeHead(step.status, h).end(JSON.stringify(step.body || (step.status === 200 ? { success: true } : { error: `status ${step.status}` })));
    });
  });
  server.on('connection', (s) => {
    c.sockets.add(s);
    s.on('close', () => c.sockets.delete(s));
  });
  c.url = await listen(server);
  c.close = () => {
    for (const s of c.sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return c;
}

// startSite serves /, /a and /b: empty pages that load the SDK build under test.
export async function startSite() {
  const sdk = readFileSync(SDK, 'utf8');
  const server = http.createServer((req, res) => {
    if (req.url === '/bespoke.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' })
      .end(`<!doctype html><title>shop ${req.url}</title><script src="/bespoke.min.js"></script><p>page ${req.url}</p>`);
  });
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const url = await listen(server);
  return {
    url,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    }
  };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // playwright-core itself starts Chromium on a new, empty temporary user-data-dir.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'
    ],
    timeout: 60000
  });
}

// open gives a fresh browser context (its own localStorage and cookies) with a page on
// the site, where window.__errors collects what the SDK reports through onError.
export async function open(browser, site, path = '/a') {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(site.url + path);
  return { context, page };
}

// init calls bespoke.init in the page with the collector as endpoint and onError recording.
export function init(page, collector, options = {}) {
  return page.evaluate(([endpoint, key, o]) => {
    window.__errors = [];
    return window.bespoke.init(Object.assign({
      endpoint, writeKey: key,
      onError: (e) => window.__errors.push({ type: e.type, message: e.message, status: e.status, messageIds: e.messageIds })
    }, o)) && true;
  }, [collector.url, WRITE_KEY, options]);
}

export function errors(page) {
  return page.evaluate(() => window.__errors);
}

export function storedQueue(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('bespoke.queue') || '[]'));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
