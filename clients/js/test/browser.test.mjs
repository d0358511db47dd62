// The browser SDK (dist/bespoke.min.js, the committed build) in headless Chromium against
// a fake collector on another origin of 127.0.0.1.
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startCollector, startSite, launch, open, init, errors, storedQueue, sleep, UUID_V4, WRITE_KEY
} from './harness.mjs';

let browser;
let site;
let collector;
let ctx;

before(async () => {
  browser = await launch();
  site = await startSite();
});

after(async () => {
  await browser?.close();
  await site?.close();
});

beforeEach(async () => {
  collector = await startCollector();
});

afterEach(async () => {
  await ctx?.context.close();
  ctx = null;
  await collector.close();
});

const ids = (events) => events.map((e) => e.messageId);

async function until(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms: ${what}`);
    await sleep(20);
  }
}

describe('bespoke.js in Chromium', () => {
  it('batches 10 events into one authenticated POST /v1/batch', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushInterval: 60000 });
    const before = Date.now();
    const sent = await page.evaluate(() => {
      const out = [];
      for (let i = 0; i < 9; i++) out.push(window.bespoke.track('Product Clicked', { product_id: 'p' + i, position: i + 1 }));
      return out;
    });
    await sleep(400);
    assert.equal(collector.batches().length, 0, '9 events must not be sent before flushAt or flushInterval');
    sent.push(await page.evaluate(() => window.bespoke.track('Product Clicked', { product_id: 'p9', position: 10 })));
    const [req] = await collector.waitFor((c) => c.batches().length && c.batches(), 5000, 'the batch');
    assert.equal(collector.batches().length, 1);
    assert.equal(req.headers.authorization, 'Basic ' + Buffer.from(WRITE_KEY + ':').toString('base64'));
    assert.match(req.headers['content-type'], /^application\/json/);
    assert.ok(!Number.isNaN(Date.parse(req.body.sentAt)), 'sentAt is a timestamp');
    const batch = req.body.batch;
    assert.equal(batch.length, 10);
    assert.deepEqual(ids(batch), sent, 'events arrive in order with the messageIds track() returned');
    assert.equal(new Set(ids(batch)).size, 10, 'messageIds are unique');
    const anon = batch[0].anonymousId;
    for (const [i, e] of batch.entries()) {
      assert.match(e.messageId, UUID_V4);
      assert.equal(e.type, 'track');
      assert.equal(e.event, 'Product Clicked');
      assert.deepEqual(e.properties, { product_id: 'p' + i, position: i + 1 });
      assert.equal(e.anonymousId, anon);
      assert.equal(e.userId, undefined);
      const t = Date.parse(e.timestamp);
      assert.ok(t >= before - 1000 && t <= Date.now(), `timestamp ${e.timestamp} is the creation time`);
      assert.equal(e.timestamp, new Date(t).toISOString(), 'timestamp is ISO 8601');
      assert.equal(e.context.library.name, 'bespoke.js');
      assert.equal(e.context.page.path, '/a');
    }
    assert.match(anon, UUID_V4);
    await until(async () => (await storedQueue(page)).length === 0, 'delivered events leave the localStorage queue');
  });

  it('keeps sending after a flush() with nothing queued', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushInterval: 60000 });
    await page.evaluate(() => window.bespoke.flush());
    const id = await page.evaluate(() => window.bespoke.track('Product Viewed', { product_id: 'p1' }));
    await page.evaluate(() => window.bespoke.flush());
    const events = await collector.waitFor((c) => c.delivered().length && c.delivered(), 5000, 'the event after an empty flush');
    assert.deepEqual(ids(events), [id]);
  });

  it('flushes a partial batch after flushInterval', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushInterval: 400 });
    const t0 = Date.now();
    await page.evaluate(() => {
      window.bespoke.track('Products Searched', { query: 'boots', search_id: 's1' });
      window.bespoke.page('Search', { query: 'boots' });
      window.bespoke.track('Product Viewed', { product_id: 'p1' });
    });
    const [req] = await collector.waitFor((c) => c.batches().length && c.batches(), 5000, 'the interval flush');
    const waited = req.at - t0;
    assert.ok(waited >= 300, `sent after ${waited} ms, expected about the 400 ms interval`);
    assert.deepEqual(req.body.batch.map((e) => e.type), ['track', 'page', 'track']);
    const pg = req.body.batch[1];
    assert.equal(pg.name, 'Search');
    assert.equal(pg.properties.query, 'boots');
    assert.equal(pg.properties.path, '/a');
  });

  it('retries 429 and 503 honouring Retry-After, re-sending the same messageIds, then delivers', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    collector.plan = [{ status: 429, retryAfter: 1 }, { status: 503, retryAfter: 1 }];
    // retryBase 1 ms: any wait near a second can only come from Retry-After.
    await init(page, collector, { retryBase: 1, retryCap: 5 });
    const sent = await page.evaluate(() => Array.from({ length: 10 }, (_, i) => window.bespoke.track('Product Viewed', { product_id: 'p' + i })));
    await collector.waitFor((c) => c.batches().length, 10000, 'delivery after two refusals');
    const posts = collector.requests.filter((r) => r.method === 'POST' && r.path === '/v1/batch');
    assert.deepEqual(posts.map((r) => r.answered), [429, 503, 200]);
    for (const r of posts) assert.deepEqual(ids(r.body.batch), sent, 'every attempt carries the same messageIds');
    for (let i = 1; i < posts.length; i++) {
      const gap = posts[i].at - posts[i - 1].at;
      assert.ok(gap >= 950, `attempt ${i + 1} came ${gap} ms after the previous one, Retry-After said 1 s`);
    }
    assert.deepEqual(await errors(page), []);
    const st = await page.evaluate(() => window.bespoke.stats());
    assert.equal(st.sent, 10);
    assert.equal(st.retries, 2);
    assert.equal(st.queued, 0);
  });

  it('retries with backoff and gives up after maxRetries, keeping the events queued', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    collector.plan = Array.from({ length: 10 }, () => ({ status: 500 }));
    await init(page, collector, { retryBase: 20, retryCap: 100, maxRetries: 3, flushAt: 2 });
    const sent = await page.evaluate(() => [window.bespoke.track('A'), window.bespoke.track('B')]);
    await collector.waitFor((c) => c.requests.filter((r) => r.path === '/v1/batch' && r.method === 'POST').length >= 4, 5000, '4 attempts');
    await sleep(500);
    assert.equal(collector.requests.filter((r) => r.path === '/v1/batch' && r.method === 'POST').length, 4, '1 try + 3 retries, then stop');
    const errs = await errors(page);
    assert.equal(errs.length, 1);
    assert.equal(errs[0].type, 'retries_exhausted');
    assert.deepEqual(errs[0].messageIds, sent);
    assert.deepEqual(ids(await storedQueue(page)), sent, 'events stay in the localStorage queue');
    // An explicit flush resumes; the plan still answers 500 six more times, then 200.
    collector.plan = [];
    await page.evaluate(() => window.bespoke.flush());
    await collector.waitFor((c) => c.batches().length, 5000, 'delivery after flush()');
    assert.deepEqual(ids(collector.delivered()), sent);
  });

  it('does not retry a 400: drops the batch, reports it through onError, and goes on', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    collector.plan = [{ status: 400, body: { error: 'invalid event', details: [{ index: 0, field: 'event', reason: 'bad' }] } }];
    await init(page, collector, { retryBase: 1, flushAt: 3 });
    const bad = await page.evaluate(() => [1, 2, 3].map((i) => window.bespoke.track('E' + i)));
    await collector.waitFor((c) => c.requests.some((r) => r.answered === 400), 5000, 'the 400');
    await sleep(600);
    const posts = () => collector.requests.filter((r) => r.method === 'POST' && r.path === '/v1/batch');
    assert.equal(posts().length, 1, 'a 400 is never retried');
    const errs = await errors(page);
    assert.equal(errs.length, 1);
    assert.equal(errs[0].type, 'rejected');
    assert.equal(errs[0].status, 400);
    assert.deepEqual(errs[0].messageIds, bad);
    assert.match(errs[0].message, /invalid event/);
    assert.deepEqual(await storedQueue(page), [], 'the refused batch is dropped, not kept to loop on');
    const good = await page.evaluate(() => [4, 5, 6].map((i) => window.bespoke.track('E' + i)));
    await collector.waitFor((c) => c.batches().length, 5000, 'the next batch');
    assert.deepEqual(ids(collector.delivered()), good);
    assert.equal(posts().length, 2);
  });

  it('keeps events in localStorage across a reload while the collector is down', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    collector.down = true;
    await init(page, collector, { retryBase: 10, retryCap: 20, maxRetries: 2 });
    const sent = await page.evaluate(() => [
      window.bespoke.track('Product Added', { product_id: 'p1', size: '9' }),
      window.bespoke.track('Product Added', { product_id: 'p2', size: '10' }),
      window.bespoke.identify('cust-9', { plan: 'gold' })
    ]);
    await page.evaluate(() => window.bespoke.flush());
    assert.equal((await errors(page))[0]?.type, 'retries_exhausted');
    assert.deepEqual(ids(await storedQueue(page)), sent);
    // Reload with the collector still down: the pagehide beacon is lost too.
    await page.reload();
    await collector.waitFor((c) => c.requests.some((r) => r.method === 'POST' && r.body?.writeKey === WRITE_KEY), 5000, 'the lost beacon');
    assert.equal(collector.batches().length, 0);
    collector.down = false;
    assert.deepEqual(ids(await storedQueue(page)), sent, 'the queue survived the reload');
    await init(page, collector);
    await collector.waitFor((c) => c.batches().length, 5000, 'delivery after reload');
    const got = collector.delivered();
    assert.deepEqual(ids(got), sent);
    assert.equal(got[2].type, 'identify');
    assert.equal(got[2].userId, 'cust-9');
    assert.deepEqual(got[2].traits, { plan: 'gold' });
    await until(async () => (await storedQueue(page)).length === 0, 'the queue empties after delivery');
  });

  it('on pagehide hands the queue to sendBeacon in chunks of at most 64 KB, the rest is sent by the next page', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushAt: 1000, flushInterval: 60000 });
    const sent = await page.evaluate(() => {
      const pad = 'x'.repeat(3000);
      return Array.from({ length: 60 }, (_, i) => window.bespoke.track('Product List Viewed', { search_id: 's', i, pad }));
    });
    assert.equal(collector.requests.length, 0);
    await page.goto(site.url + '/b'); // pagehide on /a
    await collector.waitFor((c) => c.batches().length, 5000, 'a beacon');
    await sleep(300);
    const beacons = collector.batches();
    console.log('# pagehide beacons (bytes):', JSON.stringify(beacons.map((r) => r.bytes)), 'preflights:', collector.requests.filter((r) => r.method === 'OPTIONS').length);
    for (const r of beacons) {
      assert.ok(r.bytes <= 64000, `beacon body of ${r.bytes} bytes is above 64 KB`);
      assert.equal(r.headers.authorization, undefined, 'sendBeacon cannot authenticate with a header');
      assert.equal(r.body.writeKey, WRITE_KEY, 'so the write key is in the body');
      assert.match(r.headers['content-type'], /^application\/json/);
      assert.ok(!Number.isNaN(Date.parse(r.body.sentAt)));
    }
    const first = ids(collector.delivered());
    assert.ok(first.length > 0 && first.length <= 60);
    assert.deepEqual(first, sent.slice(0, first.length), 'oldest events first');
    // The next page sends everything still queued (the beaconed ones again: same messageIds,
    // which the collector stores once).
    await init(page, collector, { flushInterval: 60000 });
    await collector.waitFor((c) => new Set(ids(c.delivered())).size === 60, 5000, 'all 60 events');
    assert.deepEqual([...new Set(ids(collector.delivered()))].sort(), [...sent].sort());
    for (const r of collector.batches().slice(beacons.length)) {
      assert.ok(r.bytes <= 512 * 1024, 'regular batches stay under the 512 KiB request limit');
      assert.ok(r.headers.authorization, 'regular batches authenticate with the header');
    }
  });

  it('on visibilitychange=hidden beacons ≤ 64 KB chunks; what the browser refuses goes with the next flush', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushAt: 1000, flushInterval: 60000 });
    const r = await page.evaluate(() => {
      const sizes = [];
      const real = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (u, b) => { const ok = real(u, b); sizes.push([b.size, ok, b.type]); return ok; };
      const pad = 'y'.repeat(2000);
      const sent = Array.from({ length: 40 }, (_, i) => window.bespoke.track('Big', { i, pad }));
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
      return { sent, sizes };
    });
    assert.ok(r.sizes.length >= 2, `expected several chunks for ~80 KB, got ${JSON.stringify(r.sizes)}`);
    for (const [size, , type] of r.sizes) {
      assert.ok(size <= 64000, `chunk of ${size} bytes`);
      assert.equal(type, 'application/json');
    }
    console.log('# beacon chunks [bytes, accepted, type]:', JSON.stringify(r.sizes));
    const accepted = r.sizes.filter(([, ok]) => ok).length;
    await collector.waitFor((c) => c.batches().length >= accepted, 5000, `${accepted} beacons`);
    const got = ids(collector.delivered());
    assert.ok(got.length > 0);
    assert.deepEqual(got, r.sent.slice(0, got.length));
    // Chromium keeps at most 64 KiB of beacons in flight, so part of the queue can be refused;
    // it is still queued, and the regular flush delivers all of it.
    assert.equal(await page.evaluate(() => window.bespoke.stats().queued), 40);
    await page.evaluate(() => window.bespoke.flush());
    assert.deepEqual([...new Set(ids(collector.delivered()))].sort(), [...r.sent].sort());
    assert.equal(await page.evaluate(() => window.bespoke.stats().queued), 0);
  });

  it('identify sets userId on later events; it persists across reloads; reset clears it', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushAt: 3, flushInterval: 60000 });
    await page.evaluate(() => {
      window.bespoke.track('Before');
      window.bespoke.identify('cust-42', { email: 'a@example.com' });
      window.bespoke.track('After', { x: 1 });
    });
    await collector.waitFor((c) => c.batches().length, 5000, 'the batch');
    const [before, ident, after1] = collector.delivered();
    assert.equal(before.userId, undefined);
    assert.equal(ident.type, 'identify');
    assert.equal(ident.userId, 'cust-42');
    assert.deepEqual(ident.traits, { email: 'a@example.com' });
    assert.equal(after1.userId, 'cust-42');
    assert.equal(after1.anonymousId, before.anonymousId, 'later events carry both ids');
    assert.equal(ident.anonymousId, before.anonymousId);

    // Reload only once the page has seen the answer, so no beacon re-sends the batch.
    await until(() => page.evaluate(() => window.bespoke.stats().queued === 0), 'the acknowledged batch leaves the queue');
    await page.reload();
    await init(page, collector, { flushAt: 1, flushInterval: 60000 });
    await page.evaluate(() => window.bespoke.track('Reloaded'));
    const named = (name) => collector.delivered().find((e) => e.event === name);
    const reloaded = await collector.waitFor(() => named('Reloaded'), 5000, 'the event after reload');
    assert.equal(reloaded.userId, 'cust-42');
    assert.equal(reloaded.anonymousId, before.anonymousId);

    await page.evaluate(() => { window.bespoke.reset(); window.bespoke.track('Logged out'); });
    const out = await collector.waitFor(() => named('Logged out'), 5000, 'the event after reset');
    assert.equal(out.userId, undefined);
    assert.match(out.anonymousId, UUID_V4);
    assert.notEqual(out.anonymousId, before.anonymousId, 'reset starts a new anonymousId');
  });

  it('falls back to the cookie for anonymousId when localStorage lost it', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector);
    const a1 = await page.evaluate(() => window.bespoke.user().anonymousId);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await init(page, collector);
    const a2 = await page.evaluate(() => window.bespoke.user().anonymousId);
    assert.equal(a2, a1);
    assert.equal(await page.evaluate(() => localStorage.getItem('bespoke.anonymousId')), a1, 'restored to localStorage');
  });

  it('optOut/optIn send the events and call the opt-out endpoint', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { optOutEndpoint: true, flushInterval: 60000 });
    await page.evaluate(() => window.bespoke.identify('cust/7'));
    assert.equal(await page.evaluate(() => window.bespoke.optOut()), true);
    assert.equal(await page.evaluate(() => window.bespoke.optedOut()), true);
    await collector.waitFor((c) => c.delivered().some((e) => e.event === 'Personalization Opted Out'), 5000, 'the opt-out event');
    const optOut = collector.requests.find((r) => r.method === 'POST' && r.path.startsWith('/v1/customers/'));
    assert.equal(optOut.path, '/v1/customers/cust%2F7/opt-out');
    assert.equal(optOut.headers.authorization, 'Basic ' + Buffer.from(WRITE_KEY + ':').toString('base64'));
    const ev = collector.delivered().find((e) => e.event === 'Personalization Opted Out');
    assert.equal(ev.type, 'track');
    assert.equal(ev.userId, 'cust/7');

    assert.equal(await page.evaluate(() => window.bespoke.optIn()), true);
    assert.equal(await page.evaluate(() => window.bespoke.optedOut()), false);
    await collector.waitFor((c) => c.delivered().some((e) => e.event === 'Personalization Opted In'), 5000, 'the opt-in event');
    assert.ok(collector.requests.some((r) => r.method === 'DELETE' && r.path === '/v1/customers/cust%2F7/opt-out'));
    assert.deepEqual(await errors(page), []);
  });

  it('reports a failing opt-out call through onError', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    collector.down = true;
    await init(page, collector, { optOutEndpoint: collector.url, maxRetries: 0 });
    await page.evaluate(() => window.bespoke.identify('cust-8'));
    assert.equal(await page.evaluate(() => window.bespoke.optOut()), false);
    assert.ok((await errors(page)).some((e) => e.type === 'opt_out' && /cust-8/.test(e.message)));
  });

  it('bounds the queue: the oldest events are dropped and counted', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { maxQueue: 20, flushAt: 1000, flushInterval: 60000 });
    const sent = await page.evaluate(() => Array.from({ length: 25 }, (_, i) => window.bespoke.track('E', { i })));
    const q = await storedQueue(page);
    assert.deepEqual(ids(q), sent.slice(5), 'the 20 newest are kept');
    const st = await page.evaluate(() => window.bespoke.stats());
    assert.equal(st.dropped, 5);
    assert.equal(st.queued, 20);
    const errs = await errors(page);
    assert.equal(errs.length, 5);
    assert.ok(errs.every((e) => e.type === 'queue_overflow'));
    assert.deepEqual(errs.flatMap((e) => e.messageIds), sent.slice(0, 5));
  });

  it('two tabs of one origin share the stored queue without dropping each other\'s events', async () => {
    ctx = await open(browser, site);
    const a = ctx.page;
    const b = await ctx.context.newPage();
    await b.goto(site.url + '/b');
    const opts = { flushAt: 1000, flushInterval: 60000 };
    await init(a, collector, opts);
    await init(b, collector, opts);
    const fromA = await a.evaluate(() => [1, 2, 3].map((i) => window.bespoke.track('A' + i)));
    const fromB = await b.evaluate(() => [1, 2].map((i) => window.bespoke.track('B' + i)));
    fromA.push(await a.evaluate(() => window.bespoke.track('A4')));
    // Tabs in different renderer processes see each other's writes late, so one may
    // write the queue without the other's newest events; that tab writes them back.
    const want = JSON.stringify([...fromA, ...fromB].sort());
    await until(async () => JSON.stringify(ids(await storedQueue(a)).sort()) === want, 'both tabs\' events in the stored queue');
    // Each tab sends its own; nothing is left behind.
    await a.evaluate(() => window.bespoke.flush());
    await b.evaluate(() => window.bespoke.flush());
    assert.deepEqual([...new Set(ids(collector.delivered()))].sort(), [...fromA, ...fromB].sort());
    assert.deepEqual(await storedQueue(a), []);
  });

  it('refuses an event above 32 KiB locally', async () => {
    ctx = await open(browser, site);
    const { page } = ctx;
    await init(page, collector, { flushAt: 1 });
    const r = await page.evaluate(() => window.bespoke.track('Huge', { blob: 'z'.repeat(40000) }));
    assert.equal(r, undefined);
    const errs = await errors(page);
    assert.equal(errs[0].type, 'event_too_large');
    assert.match(errs[0].message, /Huge/);
    assert.deepEqual(await storedQueue(page), []);
  });

  it('makes v4 messageIds without crypto.randomUUID', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => { delete Crypto.prototype.randomUUID; });
    const page = await context.newPage();
    ctx = { context, page };
    await page.goto(site.url + '/a');
    assert.equal(await page.evaluate(() => typeof crypto.randomUUID), 'undefined');
    await init(page, collector, { flushAt: 50 });
    const got = await page.evaluate(() => Array.from({ length: 50 }, () => window.bespoke.track('E')));
    for (const m of got) assert.match(m, UUID_V4);
    assert.equal(new Set(got).size, 50);
  });
});
