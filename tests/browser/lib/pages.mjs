// Host pages for the widget in a test file's Chromium, and waiting (bounded)
// on what its tickers show. Each test file makes its own with pages(env),
// env holding the browser and the alertd it started (filled in by before()).
import assert from 'node:assert/strict';

export const LIVE_MS = 10000; // a page's ticker is connected within this

/** A host page holding the given ticker elements; `html` is the <html>
 * element's attributes (the page's language and direction). */
export function hostPage(tickers, { extraBody = '', script = '/ticker.js', html = 'lang="en"' } = {}) {
  const divs = tickers.map((attrs) => '<div data-alert-ticker ' + Object.entries(attrs)
    .map(([k, v]) => `data-${k}="${v}"`).join(' ') + '></div>').join('\n');
  return `<!DOCTYPE html><html ${html}><head><meta charset="utf-8"><title>ticker test</title>
<link rel="icon" href="data:,"></head><body><main>
${divs}
${extraBody}</main>
<script src="${script}" async></script></body></html>`;
}

/** openPage(tickers, options) for the browser and alertd in env. */
export function pages(env) {
  let seq = 0;
  /** Opens a host page at alertd's origin; waits until every ticker on it is
   * connected. `setup` runs before navigation (routes, media emulation, init
   * scripts). */
  return async function openPage(tickers, { setup, extraBody, html, state = 'live', transport = 'ws',
    server = env.alertd, origin = server.origin, script } = {}) {
    const page = await env.browser.context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    page.on('dialog', (d) => { page.errors.push('dialog: ' + d.message()); d.dismiss().catch(() => {}); });
    await page.addInitScript(() => {
      window.__events = [];
      document.addEventListener('alert-ticker:alert',
        (e) => window.__events.push({ id: e.detail.alert.id, via: e.detail.via, el: e.target.id || '' }));
    });
    const url = `${origin}/__test-${++seq}.html`;
    const body = hostPage(tickers, { extraBody, script, html });
    await page.route(url, (r) => r.fulfill({ contentType: 'text/html; charset=utf-8', body }));
    if (setup) await setup(page);
    await page.goto(url);
    if (state) {
      await page.waitForFunction((st) => {
        const els = document.querySelectorAll('[data-alert-ticker]');
        return els.length > 0 && [...els].every((e) => e.dataset.state === st);
      }, state, { timeout: LIVE_MS, polling: 50 });
      const used = await page.$$eval('[data-alert-ticker]', (els) => els.map((e) => e.dataset.transport));
      assert.ok(used.every((u) => u === transport), `tickers connected over ${used}, not ${transport}`);
    }
    return page;
  };
}

/** The data-id of every alert a ticker shows, in document order. */
export const shownIds = (page, sel = '[data-alert-ticker]') =>
  page.$eval(sel, (el) => [...el.querySelectorAll('[data-id]')].map((e) => e.dataset.id));

/** Waits (bounded) until the ticker shows exactly `ids`, in that order. */
export async function waitIds(page, ids, { sel = '[data-alert-ticker]', timeout = 5000 } = {}) {
  try {
    await page.waitForFunction(([s, want]) => {
      const got = [...document.querySelector(s).querySelectorAll('[data-id]')].map((e) => e.dataset.id);
      return JSON.stringify(got) === JSON.stringify(want);
    }, [sel, ids], { timeout, polling: 50 });
  } catch (e) {
    assert.deepEqual(await shownIds(page, sel), ids, `ticker ${sel} within ${timeout} ms`);
  }
}

export const countId = (page, id) => page.evaluate((i) => document.querySelectorAll(`[data-id="${i}"]`).length, id);

/** WCAG 2 contrast ratio of two computed colours ("rgb(r, g, b)"). */
export function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
