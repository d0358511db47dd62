// End-to-end test of the storefront and dashboard in headless Debian Chromium.
// Usage: node storefront.mjs BASE_URL ARTIFACTS_DIR ADMIN_TOKEN CUSTOMER QUERY
// Prints one JSON object (what it saw) as its last line; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, artifacts, adminToken, customer, query] = process.argv.slice(2);
if (!base || !artifacts || !adminToken || !customer || !query) {
  console.error('usage: node storefront.mjs BASE_URL ARTIFACTS_DIR ADMIN_TOKEN CUSTOMER QUERY');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'bespoke-e2e-'));
const out = { customer, query, steps: [] };
const errors = [];
let shot = 0;

function log(step, extra) {
  out.steps.push(step);
  console.error(`e2e: ${step}${extra ? ' ' + JSON.stringify(extra) : ''}`);
}
function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}

const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync']
});
try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.setDefaultTimeout(15000);
  if (process.env.E2E_DEBUG) {
    page.on('request', (r) => { if (r.url().includes('/v1/')) console.error('REQ', r.method(), r.url().slice(0, 90)); });
    page.on('requestfinished', async (r) => { if (r.url().includes('/v1/batch')) console.error('DONE', (await r.response())?.status()); });
    page.on('requestfailed', (r) => console.error('FAILED', r.url(), r.failure()?.errorText));
  }
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    // 503/429 from the collector under load are retried by the SDK: not page errors
    if (m.type() === 'error' && !/status of (503|429)/.test(m.text())) errors.push('console: ' + m.text());
  });
  const snap = async (name) => {
    const f = join(artifacts, String(++shot).padStart(2, '0') + '-' + name + '.png');
    await page.screenshot({ path: f, fullPage: true });
    return f;
  };
  const ids = () => page.$$eval('#results .card', (els) => els.map((e) => e.dataset.productId));
  const searchOnce = async () => {
    const before = await page.getAttribute('#status', 'data-search-id');
    await page.fill('#q', query);
    await page.click('#search button');
    await page.waitForFunction((b) => {
      const s = document.querySelector('#status').dataset.searchId;
      return s && s !== b;
    }, before);
    await page.waitForSelector('#results .card');
    return {
      searchId: await page.getAttribute('#status', 'data-search-id'),
      personalized: (await page.getAttribute('#status', 'data-personalized')) === 'true',
      arm: await page.getAttribute('#status', 'data-arm'),
      ids: await ids()
    };
  };

  // 1. home
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="true"]');
  await snap('home');
  log('home');

  // 2. sign in as a sample customer
  await page.selectOption('#customer', customer);
  await page.waitForFunction((c) => window.bespoke.user().userId === c, customer);
  log('signed in', { userId: customer });

  // 3. search
  const first = await searchOnce();
  check(first.ids.length >= 3, `search "${query}" shows at least 3 results, got ${first.ids.length}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#results .img')].every((e) => e.querySelector('svg')));
  out.first = first;
  await snap('results');
  log('searched', first);

  // 4. click the second result
  const card = page.locator('#results .card').nth(1);
  out.clicked = await card.getAttribute('data-product-id');
  await card.locator('a').click();
  await page.waitForSelector('#product-name');
  await page.waitForSelector('.rec');
  out.recommendedSize = await page.getAttribute('#size-rec', 'data-size').catch(() => null);
  out.fitNote = await page.textContent('#fit-note').catch(() => null);
  out.sizeRows = await page.$$eval('#size-probs tbody tr', (r) => r.length).catch(() => 0);
  out.advice = await page.getAttribute('#size-advice', 'data-advice').catch(() => null);
  out.adviceText = await page.textContent('#size-advice').catch(() => null);
  check(out.recommendedSize, 'the product page shows a recommended size');
  check(['usual', 'size_up', 'size_down', 'size'].includes(out.advice) && (out.adviceText || '').includes(out.recommendedSize),
    `the product page words the size advice and names the size, got ${out.advice}: ${out.adviceText}`);
  check(out.sizeRows > 0, 'the product page shows the per-size probabilities');
  await snap('product');
  log('product page', { product: out.clicked, size: out.recommendedSize, advice: out.advice, note: out.fitNote });

  // 5. buy
  await page.click('#buy-now');
  await page.waitForSelector('#buy');
  await snap('bag');
  await page.click('#buy');
  await page.waitForSelector('#order-done');
  out.orderId = await page.getAttribute('#order-done', 'data-order-id');
  await page.evaluate(() => window.storeFlush());
  await snap('order');
  log('bought', { order: out.orderId });

  // 6. search again until the customer's own events personalize the results (real-time profile)
  let again;
  for (let i = 0; i < 40; i++) {
    again = await searchOnce();
    if (again.personalized) break;
    await page.waitForTimeout(250);
  }
  out.personalizedBefore = again.personalized;
  out.armBefore = again.arm;
  out.before = again.ids;
  check(again.personalized, 'after clicking and buying, the customer gets personalized results');
  await snap('personalized');
  log('personalized search', again);

  // 7. opt out: the toggle (bespoke.optOut() + POST /v1/customers/{id}/opt-out), then the same search
  await page.click('#privacy .slider');
  await page.waitForSelector('#privacy[data-recorded="yes"]');
  check(await page.evaluate(() => window.bespoke.optedOut()), 'the SDK remembers the opt-out');
  const after = await searchOnce();
  out.personalizedAfter = after.personalized;
  out.after = after.ids;
  check(!after.personalized, 'after opting out the results are not personalized');
  const anon = await page.evaluate(async (q) => {
    const r = await fetch('/v1/search?limit=20&q=' + encodeURIComponent(q));
    return (await r.json()).results.map((x) => x.product_id);
  }, query);
  out.anonymous = anon;
  out.equalToAnonymous = JSON.stringify(anon) === JSON.stringify(after.ids);
  check(out.equalToAnonymous, 'after opting out the ranking equals the anonymous one');
  await snap('opted-out');
  log('opted out', { personalized: after.personalized, equalToAnonymous: out.equalToAnonymous });
  for (let i = 0; i < 20; i++) {
    out.sdk = await page.evaluate(async () => { await window.storeFlush(); return window.bespoke.stats(); });
    if (out.sdk.queued === 0) break;
    out.stuck = await page.evaluate(() => JSON.parse(localStorage.getItem('bespoke.queue') || '[]').map((e) => e.event || e.type));
    await page.waitForTimeout(250);
  }
  check(out.sdk.queued === 0 && out.sdk.rejected === 0, 'every event was delivered: ' + JSON.stringify(out.sdk));

  // 8. dashboard: first have the server put every acknowledged event in lake files
  const flushed = await page.evaluate(async (tok) => (await fetch('/v1/admin/flush', { method: 'POST', headers: { Authorization: 'Bearer ' + tok } })).status, adminToken);
  check(flushed === 200, 'POST /v1/admin/flush answers 200, got ' + flushed);
  await page.goto(base + '/dashboard');
  await page.waitForSelector('#token');
  await page.fill('#token', adminToken);
  await page.click('#auth-form button');
  await page.waitForSelector('body[data-loaded="true"]');
  await page.waitForSelector('#ab');
  await page.waitForSelector('#models-table, #models p');
  await page.waitForSelector('#c-ing svg', { timeout: 20000 });
  out.dashboardArms = await page.$$eval('#ab thead th', (t) => t.length - 3);
  out.dashboardModels = await page.$$eval('#models-table tbody tr', (r) => r.length);
  await snap('dashboard');
  log('dashboard', { arms: out.dashboardArms, models: out.dashboardModels });

  check(errors.length === 0, 'no page errors: ' + errors.join(' | '));
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = e.message;
  out.pageErrors = errors;
  try {
    const p = ctx.pages()[0];
    if (p) await p.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true });
  } catch { /* best effort */ }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
