// Signed alerts in the ticker (data-verify-keys), in Debian's Chromium with
// WebCrypto Ed25519: genuine alerts signed by either pinned key render;
// forged, altered, unsigned, replayed and stale ones put straight into Redis
// (XADD and PUBLISH, bypassing `alert`, as a compromised path would) never
// render, and the console says why. Real alertd, redis-server and `alert`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as S from './lib/servers.mjs';

const it = (name, fn) => test(name, { timeout: 90000 }, fn);

S.checkPrerequisites();
await S.loadPlaywright();

let dir, tls, redis, alertd, browser;
const stack = {}; // S.startStack fills it; S.stopStack cleans it up
const keys = {};

before(async () => {
  ({ dir, tls, redis, alertd, browser } = await S.startStack(stack));
  for (const name of ['k1', 'k2', 'k3']) {
    const file = path.join(dir, name);
    const r = await S.alertCli(redis, ['keygen', file]);
    assert.equal(r.code, 0, r.stderr);
    keys[name] = { file, ...Object.fromEntries(r.stdout.split('\n').map((l) => l.split('='))) };
  }
}, { timeout: 60000 });

after(() => S.stopStack(stack));

let seq = 0;
const topic = (name) => `${name}-${process.pid % 10000}-${++seq}`;
const pushSigned = (key, ...args) => S.publish(redis, 'push', '--sign-key', keys[key].file, ...args);
const redisCli = (...args) =>
  execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' }).trim();
const stored = (id) => JSON.parse(redisCli('--raw', 'XRANGE', 'alert:stream', id, id).split('\n')[2]);

/** A compromised path's publish: into the stream and onto the live channel. */
function inject(item) {
  const body = JSON.stringify(item);
  const id = redisCli('XADD', 'alert:stream', '*', 'item', body);
  redisCli('PUBLISH', 'alert:live', JSON.stringify({ id, ...item }));
  return id;
}

const nowIso = () => new Date().toISOString();

/** A page with one ticker, newest alert first (no flash hold); console
 * lines collected in page.console. */
async function openPage(attrs) {
  attrs = { 'flash-hold': 0, ...attrs };
  const page = await browser.context.newPage();
  page.console = [];
  page.errors = [];
  page.on('console', (m) => page.console.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.addInitScript(() => {
    window.__events = [];
    document.addEventListener('alert-ticker:alert', (e) => window.__events.push(e.detail.alert.id));
  });
  const div = '<div data-alert-ticker ' + Object.entries(attrs).map(([k, v]) => `data-${k}="${v}"`).join(' ') + '></div>';
  const url = `${alertd.origin}/__verify-${++seq}.html`;
  await page.route(url, (r) => r.fulfill({
    contentType: 'text/html; charset=utf-8',
    body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>verify</title><link rel="icon" href="data:,"></head><body>${div}<script src="/ticker.js" async></script></body></html>`,
  }));
  await page.goto(url);
  return page;
}

const waitState = (page, st) => page.waitForFunction((s) => document.querySelector('[data-alert-ticker]').dataset.state === s,
  st, { timeout: 10000, polling: 50 });
const shownIds = (page) => page.$eval('[data-alert-ticker]', (el) => [...el.querySelectorAll('[data-id]')].map((e) => e.dataset.id));

async function waitIds(page, ids, timeout = 8000) {
  try {
    await page.waitForFunction((want) => JSON.stringify([...document.querySelectorAll('[data-id]')].map((e) => e.dataset.id)) === JSON.stringify(want),
      ids, { timeout, polling: 50 });
  } catch (e) {
    assert.deepEqual(await shownIds(page), ids);
  }
}

/** Waits until the console has said that `id` was rejected for `reason`. */
async function waitRejected(page, id, reason, timeout = 8000) {
  const deadline = Date.now() + timeout;
  const said = () => page.console.find((l) => l.includes('alert-ticker: rejected alert') && l.includes(id) && l.includes(reason));
  while (!said() && Date.now() < deadline) await S.sleep(50);
  assert.ok(said(), `no console line rejecting ${id} for ${reason}: ${JSON.stringify(page.console)}`);
}

describe('ticker.js with pinned keys', () => {
  it('renders genuine alerts signed by either pinned key, never forged or unsigned ones', async () => {
    const T = topic('signed');
    const page = await openPage({ topics: T, 'verify-keys': `${keys.k1.public_key} ${keys.k2.public_key}`, limit: 10 });
    await waitState(page, 'live');
    const a = await pushSigned('k1', '--headline', 'Genuine, old key', '--topic', T, '--urgency', 'flash');
    await waitIds(page, [a]);
    const genuine = stored(a);
    const forged = inject({ ...genuine, headline: 'Explosions at the White House', published_at: nowIso(),
      sig: crypto.randomBytes(64).toString('base64url').slice(0, 85) + 'A' });
    const altered = inject({ ...genuine, headline: 'Genuine, then altered' });
    const other = await pushSigned('k3', '--headline', 'Signed by a key not pinned', '--topic', T);
    const unsigned = await S.publish(redis, 'push', '--headline', 'Unsigned', '--topic', T);
    const replayed = inject(genuine);
    const b = await pushSigned('k2', '--headline', 'Genuine, new key', '--topic', T);
    await waitIds(page, [b, a]);
    await waitRejected(page, forged, 'bad signature');
    await waitRejected(page, altered, 'bad signature');
    await waitRejected(page, other, 'unknown key ' + keys.k3.kid);
    await waitRejected(page, unsigned, 'unsigned');
    await waitRejected(page, replayed, 'replayed: it came as ' + a);
    const text = await page.$eval('[data-alert-ticker]', (el) => el.textContent);
    assert.ok(!text.includes('Explosions') && !text.includes('altered') && !text.includes('Unsigned'), text);
    assert.deepEqual(await page.evaluate(() => window.__events), [a, b]);

    // A page loading now gets them from history (REST): the same verdicts.
    const fresh = await openPage({ topics: T, 'verify-keys': keys.k1.public_key, limit: 10 });
    await waitState(fresh, 'live');
    await waitIds(fresh, [a]); // b is signed by k2, not pinned here
    await waitRejected(fresh, forged, 'bad signature');
    await waitRejected(fresh, b, 'unknown key ' + keys.k2.kid);
    assert.deepEqual(page.errors.concat(fresh.errors), []);
    await page.close();
    await fresh.close();
  });

  it('a genuine alert stored again after data-max-age is stale, live or from history', async () => {
    const T = topic('stale');
    const a = await pushSigned('k1', '--headline', 'Genuine, soon old', '--topic', T);
    await S.sleep(2500); // past data-max-age 2
    const page = await openPage({ topics: T, 'verify-keys': keys.k1.public_key, 'max-age': 2 });
    await waitState(page, 'live');
    await waitIds(page, [a]); // history: its id matches its time
    const copy = inject(stored(a));
    await waitRejected(page, copy, 'stale');
    assert.deepEqual(await shownIds(page), [a]);
    await page.close();
  });

  it('keys that cannot be imported stop the ticker: nothing unverified is shown', async () => {
    const T = topic('badkey');
    await S.publish(redis, 'push', '--headline', 'Unsigned', '--topic', T);
    const page = await openPage({ topics: T, 'verify-keys': 'not-a-key' });
    await waitState(page, 'stopped');
    assert.deepEqual(await shownIds(page), []);
    assert.ok(page.console.some((l) => l.includes('data-verify-keys')), JSON.stringify(page.console));
    await page.close();
  });
});
