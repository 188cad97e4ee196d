// Browser tests of src/web/ticker.js and the demo page, run with `node --test`
// in tests/browser (after `npm ci`). Debian's Chromium (headless, through
// playwright-core) loads the widget from a real alertd over TLS; alerts go in
// through the real `alert` CLI into a real redis-server. The only thing not
// served by alertd is the tiny host page of a test (page.route fulfils it at
// alertd's origin, so the widget is embedded exactly as documented: a div and
// <script src="/ticker.js" async>). Every wait is bounded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { contrast, countId, LIVE_MS, pages, shownIds, waitIds } from './lib/pages.mjs';
import * as S from './lib/servers.mjs';

const TICKER = path.join(S.WEB, 'ticker.js');
/** A test that fails rather than hangs, whatever it waits for. */
const it = (name, fn) => test(name, { timeout: 90000 }, fn);

// Missing pieces fail the whole file at once, with a message saying what to install.
S.checkPrerequisites();
await S.loadPlaywright();

let dir, tls, redis, alertd, browser;
const stack = {}; // S.startStack fills it; S.stopStack cleans it up
const env = {}; // what openPage uses: this file's browser and alertd
const openPage = pages(env);

before(async () => {
  ({ dir, tls, redis, alertd, browser } = await S.startStack(stack));
  Object.assign(env, { alertd, browser });
}, { timeout: 60000 });

after(() => S.stopStack(stack));

// ---- helpers ----------------------------------------------------------------

let seq = 0;
/** A topic no other test uses, so tests sharing one alertd do not see each other. */
const topic = (name) => `${name}-${process.pid % 10000}-${++seq}`;

const push = (...args) => S.publish(redis, 'push', ...args);

// ---- the tests ----------------------------------------------------------------

describe('ticker.js', () => {
  it('alertd serves the widget from src/web as documented', async (t) => {
    const file = fs.readFileSync(TICKER);
    const r = await alertd.get('/ticker.js');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(file), 'GET /ticker.js differs from src/web/ticker.js: rebuild alertd with `make`');
    assert.match(r.headers['content-type'], /^text\/javascript/);
    assert.ok(r.headers.etag, 'an ETag');
    const again = await alertd.get('/ticker.js', { headers: { 'if-none-match': r.headers.etag } });
    assert.equal(again.status, 304);
    const gz = await alertd.get('/ticker.js', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const hash = (await import('node:crypto')).createHash('sha256').update(file).digest('hex').slice(0, 12);
    const v = await alertd.get(`/v/${hash}/ticker.js`);
    assert.equal(v.status, 200);
    assert.match(v.headers['cache-control'] || '', /immutable/);
    const home = await alertd.get('/');
    assert.equal(home.status, 200);
    assert.match(home.headers['content-type'], /^text\/html/);
    assert.ok(home.body.equals(fs.readFileSync(path.join(S.WEB, 'index.html'))));

    const gzip9 = spawnSync('gzip', ['-9c', TICKER]).stdout.length;
    t.diagnostic(`ticker.js: ${file.length} bytes, ${gzip9} bytes with gzip -9 (served gzip: ${gz.body.length})`);
    // 8 KiB for the widget itself, about 1 KiB for verifying signed alerts
    // (WebCrypto Ed25519, RFC 8785's canonical form), about 2 KiB for its
    // words in 24 languages and 1.5 KiB for languages, direction, the
    // flash hold and renditions.
    assert.ok(gzip9 < 13312, `ticker.js is ${gzip9} bytes gzipped: keep it under 13 KiB`);
  });

  it('page load shows the latest alerts from history, newest first', async () => {
    const T = topic('history');
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await push('--headline', `History ${n}`, '--urgency', 'routine', '--topic', T));
    await push('--headline', 'Another topic', '--urgency', 'routine', '--topic', topic('other'));
    const page = await openPage([{ topics: T, lang: 'en' }]);
    await waitIds(page, ids.slice().reverse());
    const heads = await page.$$eval('.alert-ticker__headline', (hs) => hs.map((h) => h.textContent));
    assert.deepEqual(heads, ['History 3', 'History 2', 'History 1']);
    const evs = await page.evaluate(() => window.__events);
    assert.deepEqual(evs.map((e) => e.id).sort(), ids.slice().sort(), 'one alert-ticker:alert event per alert');
    assert.ok(evs.every((e) => e.via === 'rest'));
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('several tickers on a page, data-limit, and a ticker added later', async () => {
    const A = topic('multi-a'), B = topic('multi-b');
    const a = [];
    for (const n of [1, 2, 3, 4]) a.push(await push('--headline', `A ${n}`, '--urgency', 'urgent', '--topic', A));
    const b = await push('--headline', 'B 1', '--urgency', 'urgent', '--topic', B);
    const page = await openPage([{ topics: A, limit: 2 }, { topics: B }]);
    await waitIds(page, [a[3], a[2]], { sel: `[data-topics="${A}"]` });
    await waitIds(page, [b], { sel: `[data-topics="${B}"]` });
    // A ticker added by a script after load starts by itself (MutationObserver).
    await page.evaluate((topics) => {
      const d = document.createElement('div');
      d.id = 'late';
      d.setAttribute('data-alert-ticker', '');
      d.dataset.topics = topics;
      d.dataset.limit = '3';
      document.body.append(d);
    }, A);
    await waitIds(page, [a[3], a[2], a[1]], { sel: '#late' });
    await page.waitForSelector('#late[data-state=live]', { timeout: LIVE_MS });
    // A live alert reaches both tickers of its topic, not the other one.
    const a5 = await push('--headline', 'A 5', '--urgency', 'urgent', '--topic', A);
    await waitIds(page, [a5, a[3]], { sel: `[data-topics="${A}"]` });
    await waitIds(page, [a5, a[3], a[2]], { sel: '#late' });
    assert.deepEqual(await shownIds(page, `[data-topics="${B}"]`), [b]);
    // Theming: a custom property on one ticker, and data-theme, change only it.
    const bgs = await page.evaluate(([ta, tb]) => {
      const [ea, eb, el] = [`[data-topics="${ta}"]`, `[data-topics="${tb}"]`, '#late'].map((q) => document.querySelector(q));
      eb.style.setProperty('--alert-ticker-bg', 'rgb(1, 2, 3)');
      el.dataset.theme = 'dark';
      return [ea, eb, el].map((e) => getComputedStyle(e).backgroundColor);
    }, [A, B]);
    assert.deepEqual(bgs, ['rgb(255, 255, 255)', 'rgb(1, 2, 3)', 'rgb(22, 24, 29)']);
    assert.equal(await page.evaluate(() => typeof window.AlertTicker.scan), 'function');
    assert.match(await page.evaluate(() => window.AlertTicker.version), /^\d+\.\d+\.\d+$/);
    await page.close();
  });

  it('a flash alert shows in the BREAKING NEWS banner within 1 s of the push', async (t) => {
    const T = topic('flash');
    const page = await openPage([{ topics: T, 'flash-hold': 0 }]);
    const headline = `Flash ${Date.now()}`;
    const shown = page.waitForFunction((h) => {
      const card = document.querySelector('.alert-ticker__banner .alert-ticker__card');
      return card && card.querySelector('.alert-ticker__headline').textContent === h ? Date.now() : 0;
    }, headline, { timeout: 5000, polling: 'raf' });
    const id = await push('--headline', headline, '--urgency', 'flash', '--topic', T,
      '--url', 'https://news.example/flash');
    const returned = Date.now();
    const at = await (await shown).jsonValue();
    const ms = at - returned;
    t.diagnostic(`banner in the DOM ${ms} ms after the push returned (negative: before the CLI exited)`);
    assert.ok(ms < 1000, `the banner showed ${ms} ms after the push returned`);
    const banner = await page.$eval('.alert-ticker__banner', (b) => ({
      live: b.getAttribute('aria-live'), text: b.textContent, id: b.querySelector('[data-id]').dataset.id,
      caps: getComputedStyle(b.querySelector('.alert-ticker__label')).textTransform,
    }));
    assert.equal(banner.live, 'assertive', 'a flash is announced assertively');
    assert.match(banner.text, /^Breaking news/, 'words in sentence case (read as words, not letters)...');
    assert.equal(banner.caps, 'uppercase', '...shown in capitals');
    assert.equal(banner.id, id);
    assert.equal(await countId(page, id), 1, 'the banner alert is not repeated in the list');
    // Without a hold, a bulletin takes over the banner, politely; an urgent alert does not.
    const bul = await push('--headline', 'Bulletin after flash', '--urgency', 'bulletin', '--topic', T);
    await page.waitForSelector(`.alert-ticker__banner [data-id="${bul}"]`, { timeout: 3000 });
    assert.equal(await page.$eval('.alert-ticker__banner', (b) => b.getAttribute('aria-live')), 'polite');
    const urg = await push('--headline', 'Urgent, not breaking', '--urgency', 'urgent', '--topic', T);
    await waitIds(page, [bul, urg, id]);
    assert.equal(await page.$eval(`[data-id="${urg}"]`, (e) => e.closest('ol') !== null), true);
    await page.close();
  });

  it('an update replaces its alert with a visible Updated mark; a retraction removes it', async () => {
    const T = topic('update');
    const other = await push('--headline', 'Unrelated', '--urgency', 'routine', '--topic', T);
    const orig = await push('--headline', 'Toll rises to 3', '--urgency', 'urgent', '--topic', T);
    const page = await openPage([{ topics: T }]);
    await waitIds(page, [orig, other]);
    const up1 = await S.publish(redis, 'update', orig, '--headline', 'Toll rises to 7');
    await waitIds(page, [up1, other]);
    const item = await page.$eval(`[data-id="${up1}"]`, (e) => {
      const tag = e.querySelector('.alert-ticker__tag'), box = tag && tag.getBoundingClientRect();
      return {
        tag: tag && tag.textContent, shown: !!tag && box.width > 0 && box.height > 0 && tag.checkVisibility(),
        head: e.querySelector('.alert-ticker__headline').textContent,
      };
    });
    assert.deepEqual(item, { tag: 'Updated', shown: true, head: 'Toll rises to 7' });
    // An update of the update replaces it in turn (its ref is the update's id).
    const up2 = await S.publish(redis, 'update', up1, '--headline', 'Toll rises to 12');
    await waitIds(page, [up2, other]);
    // Retracting the original withdraws the whole story, whatever version shows.
    await S.publish(redis, 'retract', orig, '--reason', 'Sent in error');
    await waitIds(page, [other]);
    // After a reload from history the story stays withdrawn and the update gone.
    await page.reload();
    await page.waitForSelector('[data-alert-ticker][data-state=live]', { timeout: LIVE_MS });
    await waitIds(page, [other]);
    await S.publish(redis, 'retract', other);
    await waitIds(page, []);
    assert.equal(await page.$eval('.alert-ticker__empty', (e) => !e.hidden && e.textContent), 'No alerts right now.');
    await page.close();
  });

  it('asks for the fields it renders: compact frames, and updates and retractions still fold', async () => {
    const T = topic('compact');
    const urls = [], frames = [];
    const orig = await push('--headline', 'Bridge closed', '--urgency', 'urgent', '--topic', T,
      '--summary', 'Traffic diverted.', '--byline', 'Desk');
    const page = await openPage([{ topics: T }], {
      setup: (p) => {
        p.on('request', (r) => urls.push(r.url()));
        p.on('websocket', (ws) => {
          urls.push(ws.url());
          ws.on('framereceived', (f) => frames.push(String(f.payload)));
        });
      },
    });
    await waitIds(page, [orig]);
    for (const path of ['/v1/alerts?', '/v1/ws?']) {
      const u = urls.find((x) => x.includes(path));
      assert.ok(u && /[?&]fields=[a-z_,]*headline/.test(u), `${path} asked without fields=: ${u}`);
    }
    const hello = JSON.parse(frames.find((f) => f.includes('"hello"')));
    assert.ok(hello.fields.includes('headline') && !hello.fields.includes('topics'), JSON.stringify(hello));
    const up = await S.publish(redis, 'update', orig, '--headline', 'Bridge reopened');
    await waitIds(page, [up]);
    const upFrame = frames.map((f) => JSON.parse(f)).find((f) => f.type === 'alert' && f.alert.id === up);
    // Compact: what the ticker shows, without topics or version; ref kept for folding.
    assert.deepEqual(Object.keys(upFrame.alert).filter((k) => ['topics', 'version', 'ref', 'headline'].includes(k)).sort(),
      ['headline', 'ref']);
    assert.equal(await page.$eval(`[data-id="${up}"] .alert-ticker__byline`, (e) => e.textContent), 'Desk');
    assert.equal(await page.$eval(`[data-id="${up}"] .alert-ticker__tag`, (e) => e.textContent), 'Updated');
    await S.publish(redis, 'retract', orig);
    await waitIds(page, []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('expired alerts go, on a timer and on load', async () => {
    const T = topic('expiry');
    const keep = await push('--headline', 'Stays', '--urgency', 'routine', '--topic', T);
    const page = await openPage([{ topics: T }]);
    const brief = await push('--headline', 'Gone in 2 s', '--urgency', 'routine', '--topic', T, '--expires', '2s');
    await waitIds(page, [brief, keep]);
    await waitIds(page, [keep], { timeout: 5000 });
    await page.reload();
    await page.waitForSelector('[data-alert-ticker][data-state=live]', { timeout: LIVE_MS });
    await waitIds(page, [keep]);
    await page.close();
  });

  it('alertd restarted while the page is open: the alert pushed meanwhile arrives exactly once', async (t) => {
    const T = topic('restart');
    const first = await push('--headline', 'Before the restart', '--urgency', 'routine', '--topic', T);
    const page = await openPage([{ topics: T }]);
    await waitIds(page, [first]);
    const t0 = Date.now();
    assert.equal(await alertd.stop(), 0, 'alertd drains and exits 0 on SIGTERM');
    await page.waitForSelector('[data-alert-ticker]:not([data-state=live])', { timeout: 5000 });
    const missed = await push('--headline', 'Pushed while alertd was down', '--urgency', 'routine', '--topic', T);
    await alertd.start();
    await waitIds(page, [missed, first], { timeout: 30000 });
    t.diagnostic(`alert shown ${Date.now() - t0} ms after SIGTERM`);
    await page.waitForSelector('[data-alert-ticker][data-state=live][data-transport=ws]', { timeout: LIVE_MS });
    // Still exactly once, and delivered again live after the reconnection.
    const live = await push('--headline', 'After the restart', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [live, missed, first]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await countId(page, missed), 1);
    const evs = await page.evaluate(() => window.__events.map((e) => e.id));
    assert.equal(evs.filter((i) => i === missed).length, 1, 'one event for the missed alert');
    await page.close();
  });

  it('a page hidden for over 60 s lets go of its socket and catches up when shown', async () => {
    const T = topic('hidden');
    const first = await push('--headline', 'Seen before hiding', '--urgency', 'routine', '--topic', T);
    const closes = [];
    const page = await openPage([{ topics: T }], {
      setup: async (p) => {
        p.on('websocket', (ws) => ws.on('close', () => closes.push(ws.url())));
        // Headless pages are always visible: fake the Page Visibility API, and
        // make the widget's 60 s hidden-page timer fire after 200 ms.
        await p.addInitScript(() => {
          let hidden = false;
          Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden, configurable: true });
          Object.defineProperty(Document.prototype, 'visibilityState',
            { get: () => (hidden ? 'hidden' : 'visible'), configurable: true });
          window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
          const realSetTimeout = window.setTimeout;
          window.setTimeout = (fn, ms, ...args) => realSetTimeout(fn, ms === 60000 ? 200 : ms, ...args);
        });
      },
    });
    await waitIds(page, [first]);
    await page.evaluate(() => window.__setHidden(true));
    await page.waitForSelector('[data-alert-ticker][data-state=paused]', { timeout: 3000 });
    await page.waitForFunction(() => true, null, { timeout: 1000 });
    assert.equal(closes.length, 1, 'the WebSocket was closed');
    const missed = await push('--headline', 'Pushed while hidden', '--urgency', 'routine', '--topic', T);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await shownIds(page), [first], 'nothing arrives while paused');
    await page.evaluate(() => window.__setHidden(false));
    await waitIds(page, [missed, first]);
    await page.waitForSelector('[data-alert-ticker][data-state=live][data-transport=ws]', { timeout: LIVE_MS });
    const live = await push('--headline', 'Live again', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [live, missed, first]);
    const evs = await page.evaluate(() => window.__events);
    assert.deepEqual(evs.filter((e) => e.id !== first).map((e) => [e.id, e.via]), [[missed, 'rest'], [live, 'ws']]);
    await page.close();
  });

  it('acknowledges alerts once rendered and visible, not while hidden; a burst stays within the frame rate', async () => {
    const T = topic('ack');
    const acks = [], at = [], closes = [];
    const page = await openPage([{ topics: T, limit: 20 }], {
      setup: async (p) => {
        p.on('websocket', (ws) => {
          ws.on('framesent', (f) => {
            const m = JSON.parse(f.payload);
            if (m.type === 'ack') { acks.push(m.id); at.push(Date.now()); }
          });
          ws.on('close', () => closes.push(ws.url()));
        });
        // Headless pages are always visible: fake the Page Visibility API.
        await p.addInitScript(() => {
          let hidden = false;
          Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden, configurable: true });
          window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
        });
      },
    });
    const acked = () => acks.flat();
    const until = async (what, ok, ms = 5000) => {
      for (const end = Date.now() + ms; !ok(); await S.sleep(50)) {
        assert.ok(Date.now() < end, `${what} within ${ms} ms; acks sent: ${JSON.stringify(acks)}`);
      }
    };
    const a = await push('--headline', 'Seen', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [a]);
    await until('an ack of the alert shown', () => acked().includes(a));
    assert.deepEqual(acks, [[a]], 'one frame, one id');

    await page.evaluate(() => window.__setHidden(true));
    const b = await push('--headline', 'Rendered while hidden', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [b, a]);
    await S.sleep(1000);
    assert.ok(!acked().includes(b), 'no ack while the page is hidden');
    await page.evaluate(() => window.__setHidden(false));
    await until('the ack once shown', () => acked().includes(b));

    // Twelve alerts at once: acknowledged in a few frames, the socket stays open.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      push('--headline', `Burst ${i}`, '--urgency', 'routine', '--topic', T)));
    await until('acks of the burst', () => burst.every((id) => acked().includes(id)), 10000);
    const most = Math.max(...at.map((t0) => at.filter((t) => t >= t0 && t < t0 + 1000).length));
    assert.ok(most <= 5, `${most} ack frames within a second (one per 300 ms at most)`);
    assert.equal(new Set(acked()).size, acked().length, 'each alert acknowledged once');
    assert.deepEqual(closes, [], 'the socket stays open (no 4030)');
    assert.equal(await page.$eval('[data-alert-ticker]', (e) => e.dataset.state), 'live');

    // alertd counted every ack: the receipts say so.
    for (const [id, want] of [[a, 1], [burst[11], 1]]) {
      let st;
      for (const end = Date.now() + 10000; ; await S.sleep(200)) {
        st = JSON.parse((await S.alertCli(redis, ['stats', id, '--json'])).stdout);
        if (st.acks === want || Date.now() > end) break;
      }
      assert.equal(st.acks, want, `alert stats ${id}: ${JSON.stringify(st)}`);
      assert.ok(st.readers >= 1 && st.to_screen_ms.p50 > 0, JSON.stringify(st));
    }
    await page.close();
  });

  it('a gap (history trimmed while away) reloads the ticker from REST', async () => {
    // Its own alertd, keeping only 5 alerts, so a resume point falls out of it.
    const gdir = S.tempDir();
    const gredis = await new S.Redis(gdir).start();
    const small = await new S.Alertd(gdir, gredis, tls, ['--history', '5']).start();
    try {
      const old = await S.publish(gredis, 'push', '--headline', 'Old', '--urgency', 'routine');
      const page = await openPage([{ limit: 3 }], { server: small });
      await waitIds(page, [old]);
      assert.equal(await small.stop(), 0);
      const ids = [];
      for (let n = 1; n <= 8; n++) ids.push(await S.publish(gredis, 'push', '--headline', `While away ${n}`, '--urgency', 'routine'));
      await small.start();
      await waitIds(page, [ids[7], ids[6], ids[5]], { timeout: 30000 });
      await page.waitForSelector('[data-alert-ticker][data-state=live]', { timeout: LIVE_MS });
      const next = await S.publish(gredis, 'push', '--headline', 'After the gap', '--urgency', 'routine');
      await waitIds(page, [next, ids[7], ids[6]]);
      await page.close();
    } finally {
      await small.stop('SIGKILL');
      await gredis.stop();
      fs.rmSync(gdir, { recursive: true, force: true });
    }
  });

  it('with WebSockets blocked, Server-Sent Events deliver', async () => {
    const T = topic('sse');
    const before = await push('--headline', 'Loaded over REST', '--urgency', 'routine', '--topic', T);
    let attempts = 0;
    const page = await openPage([{ topics: T }], {
      setup: (p) => p.routeWebSocket(/\/v1\/ws/, (ws) => { attempts++; ws.close(); }),
      transport: 'sse',
    });
    assert.equal(await page.$eval('[data-alert-ticker]', (e) => e.dataset.transport), 'sse');
    assert.ok(attempts >= 2, `WebSocket tried ${attempts} times before falling back`);
    await waitIds(page, [before]);
    const id = await push('--headline', 'Delivered over SSE', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [id, before]);
    const evs = await page.evaluate(() => window.__events);
    assert.deepEqual(evs.find((e) => e.id === id), { id, via: 'sse', el: '' });
    await page.close();
  });

  it('embedded on another site: data-server, CORS for REST and SSE, WebSocket from any origin', async () => {
    // https://localhost:PORT and https://127.0.0.1:PORT are two origins of one alertd.
    const T = topic('cors');
    const site = `https://localhost:${alertd.port}`;
    const first = await push('--headline', 'Cross-origin history', '--urgency', 'routine', '--topic', T);
    const requests = [];
    const page = await openPage([{ topics: T, server: alertd.origin }], {
      origin: site, script: `${site}/ticker.js`,
      setup: (p) => p.on('request', (r) => requests.push(r.url())),
    });
    assert.ok(requests.some((u) => u.startsWith(`${alertd.origin}/v1/alerts?`)), 'REST went to data-server');
    await waitIds(page, [first]);
    const live = await push('--headline', 'Cross-origin live', '--urgency', 'routine', '--topic', T);
    await waitIds(page, [live, first]);
    await page.close();

    const sse = await openPage([{ topics: T }], {
      origin: site, script: `${alertd.origin}/ticker.js`, transport: 'sse',
      setup: (p) => p.routeWebSocket(/\/v1\/ws/, (ws) => ws.close()),
    });
    await waitIds(sse, [live, first]);
    const third = await push('--headline', 'Cross-origin SSE', '--urgency', 'routine', '--topic', T);
    await waitIds(sse, [third, live, first]);
    assert.deepEqual(sse.errors, []);
    await sse.close();
  });

  it('alert text is shown as text, never run as HTML', async () => {
    const T = topic('xss');
    const page = await openPage([{ topics: T }]);
    const headline = '<img src=x onerror=alert(1)>';
    const id = await push('--headline', headline, '--urgency', 'flash', '--topic', T,
      '--summary', '<script>window.__pwned = 1</script><b>bold</b>',
      '--byline', '<a href="javascript:alert(2)">me</a>',
      '--image', 'https://127.0.0.1:9/x.png', '--caption', '"><svg onload=alert(3)>');
    await page.waitForSelector(`[data-id="${id}"]`, { timeout: 3000 });
    const got = await page.$eval(`[data-id="${id}"]`, (e) => ({
      head: e.querySelector('.alert-ticker__headline').textContent,
      summary: e.querySelector('.alert-ticker__summary').textContent,
      tags: [...e.querySelectorAll('*')].map((x) => x.localName).filter((n) => !['div', 'p', 'strong', 'span', 'time', 'figure', 'figcaption', 'img'].includes(n)),
      imgs: [...e.querySelectorAll('img')].map((i) => [i.getAttribute('src'), i.getAttribute('alt')]),
    }));
    assert.equal(got.head, headline);
    assert.equal(got.summary, '<script>window.__pwned = 1</script><b>bold</b>');
    assert.deepEqual(got.tags, [], 'no element made from alert text');
    // The only img is the alert's own image (the caption is its alt text),
    // unless it failed to load and was removed.
    for (const [src, alt] of got.imgs) {
      assert.equal(src, 'https://127.0.0.1:9/x.png');
      assert.equal(alt, '"><svg onload=alert(3)>');
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(page.errors, [], 'no dialog, no script error');
    await page.close();
  });

  it('a javascript: URL never becomes a link', async () => {
    const T = topic('js-url');
    // The publisher refuses it...
    for (const args of [['--url', 'javascript:alert(1)'], ['--image', 'javascript:alert(1)'],
      ['--url', 'data:text/html,<script>alert(1)</script>']]) {
      const r = await S.alertCli(redis, ['push', '--headline', 'x', '--topic', T, ...args]);
      assert.equal(r.code, 2, `alert push ${args.join(' ')} is refused`);
    }
    // ...the widget's own filter refuses it...
    let injected;
    const page = await openPage([{ topics: T }], {
      setup: (p) => p.routeWebSocket(/\/v1\/ws/, (ws) => { ws.connectToServer(); injected = ws; }),
    });
    assert.equal(await page.$eval('[data-alert-ticker]', (e) => e.dataset.transport), 'ws');
    const verdicts = await page.evaluate(() => Object.fromEntries([
      'javascript:alert(1)', ' JavaScript:alert(1)', 'java\tscript:alert(1)', 'jav&#x09;ascript:alert(1)',
      'data:text/html,x', 'vbscript:msgbox(1)', 'file:///etc/passwd', '/relative', '//host.example/x', '',
      'https://news.example/a?b=1#c', 'HTTP://News.Example',
    ].map((u) => [u, window.AlertTicker.safeUrl(u)])));
    assert.deepEqual(verdicts, {
      'javascript:alert(1)': null, ' JavaScript:alert(1)': null, 'java\tscript:alert(1)': null,
      'jav&#x09;ascript:alert(1)': null, 'data:text/html,x': null, 'vbscript:msgbox(1)': null,
      'file:///etc/passwd': null, '/relative': null, '//host.example/x': null, '': null,
      'https://news.example/a?b=1#c': 'https://news.example/a?b=1#c', 'HTTP://News.Example': 'http://news.example/',
    });
    // ...and so does the rendering, given a frame the server would never send
    // (injected into the page's real WebSocket to alertd).
    const id = `${Date.now() + 60000}-0`;
    injected.send(JSON.stringify({ type: 'alert', alert: {
      id, kind: 'alert', version: 1, urgency: 'flash', headline: 'Injected', lang: 'en', topics: [T],
      url: 'javascript:alert(1)', image: { url: 'javascript:alert(2)', caption: 'c' },
      published_at: new Date().toISOString(),
    } }));
    await page.waitForSelector(`[data-id="${id}"]`, { timeout: 3000 });
    // The same alert again (as after a reconnection to another node): ignored.
    injected.send(JSON.stringify({ type: 'alert', alert: { id, kind: 'alert', headline: 'Injected twice', urgency: 'routine' } }));
    await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    assert.equal(await countId(page, id), 1);
    assert.equal(await page.evaluate((i) => window.__events.filter((e) => e.id === i).length, id), 1);
    const out = await page.$eval('[data-alert-ticker]', (el, i) => ({
      head: el.querySelector(`[data-id="${i}"] .alert-ticker__headline`).innerHTML,
      urls: [...el.querySelectorAll('[href],[src]')].map((e) => e.getAttribute('href') || e.getAttribute('src')),
    }), id);
    assert.equal(out.head, 'Injected', 'the headline is plain text, no link');
    assert.deepEqual(out.urls, []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('accessibility: live regions, keyboard links with a visible focus ring, item lang', async () => {
    const T = topic('a11y');
    const ids = [
      await push('--headline', 'Routine with link', '--urgency', 'routine', '--topic', T, '--url', 'https://news.example/1'),
      await push('--headline', 'Nouvelles en français', '--urgency', 'urgent', '--topic', T, '--lang', 'fr', '--url', 'https://news.example/2'),
      await push('--headline', 'Flash with link', '--urgency', 'flash', '--topic', T, '--url', 'https://news.example/3'),
    ];
    const page = await openPage([{ topics: T }], { extraBody: '<p><a href="#top" id="after">after</a></p>' });
    await waitIds(page, ids.slice().reverse());
    const aria = await page.$eval('[data-alert-ticker]', (el) => ({
      role: el.getAttribute('role'), label: el.getAttribute('aria-label'),
      list: el.querySelector('ol').getAttribute('aria-live'),
      banner: el.querySelector('.alert-ticker__banner').getAttribute('aria-live'),
    }));
    assert.deepEqual(aria, { role: 'region', label: 'Latest alerts', list: 'polite', banner: 'assertive' });
    assert.equal(await page.$eval(`[data-id="${ids[1]}"]`, (e) => e.getAttribute('lang')), 'fr');

    const reached = [];
    for (let i = 0; i < 6 && !reached.includes('#top'); i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const a = document.activeElement;
        const cs = getComputedStyle(a);
        return { href: a.getAttribute('href'), outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
      });
      reached.push(f.href);
      if (f.href !== '#top') {
        assert.notEqual(f.outline, 'none', `a visible focus ring on ${f.href}`);
        assert.ok(f.width >= 2, `focus ring ${f.width}px wide on ${f.href}`);
      }
    }
    assert.deepEqual(reached, ['https://news.example/3', 'https://news.example/2', 'https://news.example/1', '#top']);
    await page.close();
  });

  it('prefers-reduced-motion: no animation or transition on items', async () => {
    const T = topic('motion');
    await push('--headline', 'Moving?', '--urgency', 'routine', '--topic', T, '--url', 'https://news.example/m');
    const styles = async (page) => page.$eval('.alert-ticker__item', (li) => ({
      animation: getComputedStyle(li).animationName,
      transition: getComputedStyle(li.querySelector('a')).transitionDuration,
      dot: getComputedStyle(document.querySelector('.alert-ticker__status'), '::before').animationName,
    }));
    const normal = await openPage([{ topics: T }]);
    assert.deepEqual(await styles(normal), { animation: 'alert-ticker-in', transition: '0.15s', dot: 'alert-ticker-pulse' },
      'animated by default (so the check below means something)');
    await normal.close();
    const calm = await openPage([{ topics: T }], { setup: (p) => p.emulateMedia({ reducedMotion: 'reduce' }) });
    assert.deepEqual(await styles(calm), { animation: 'none', transition: '0s', dot: 'none' });
    await calm.close();
  });

  for (const scheme of ['light', 'dark']) {
    it(`readable contrast (WCAG AA, 4.5:1) in the ${scheme} theme`, async () => {
      const T = topic('contrast');
      const orig = await push('--headline', 'Original', '--urgency', 'routine', '--topic', T);
      await S.publish(redis, 'update', orig, '--headline', 'Updated', '--byline', 'Desk');
      await push('--headline', 'Breaking', '--urgency', 'flash', '--topic', T, '--url', 'https://news.example/c');
      const page = await openPage([{ topics: T }], { setup: (p) => p.emulateMedia({ colorScheme: scheme }) });
      await page.waitForSelector('.alert-ticker__tag', { timeout: 3000 });
      const c = await page.evaluate(() => {
        const cs = (sel, pseudo) => getComputedStyle(document.querySelector(sel), pseudo);
        const bg = cs('[data-alert-ticker]').backgroundColor;
        return {
          bg,
          text: [cs('.alert-ticker__item .alert-ticker__headline').color, bg],
          muted: [cs('.alert-ticker__item .alert-ticker__time').color, bg],
          byline: [cs('.alert-ticker__item .alert-ticker__byline').color, bg],
          title: [cs('.alert-ticker__head').color, bg],
          tag: [cs('.alert-ticker__tag').color, cs('.alert-ticker__tag').backgroundColor],
          banner: [cs('.alert-ticker__card a').color, cs('.alert-ticker__card').backgroundColor],
          label: [cs('.alert-ticker__label').color, cs('.alert-ticker__card').backgroundColor],
        };
      });
      const lum = contrast(c.bg, 'rgb(0, 0, 0)');
      assert.ok(scheme === 'dark' ? lum < 3 : lum > 10, `${scheme} background ${c.bg}`);
      for (const [what, pair] of Object.entries(c)) {
        if (what === 'bg') continue;
        const ratio = contrast(...pair);
        assert.ok(ratio >= 4.5, `${what}: ${pair.join(' on ')} is ${ratio.toFixed(2)}:1`);
      }
      await page.close();
    });
  }
});

describe('close codes', () => {
  // An alertd that lets only https://localhost:PORT in and holds one
  // connection per worker.
  let cdir, credis, strict;
  before(async () => {
    cdir = S.tempDir();
    credis = await new S.Redis(cdir).start();
    strict = new S.Alertd(cdir, credis, tls);
    strict.port = await S.freePort();
    strict.extra = ['--allowed-origin', `https://localhost:${strict.port}`, '--max-connections', '1'];
    await strict.start();
  }, { timeout: 30000 });
  after(async () => {
    if (strict && strict.proc) await strict.stop('SIGKILL');
    if (credis && credis.proc) await credis.stop();
    if (cdir) fs.rmSync(cdir, { recursive: true, force: true });
  });

  const sockets = (page) => {
    const urls = [];
    page.on('websocket', (ws) => urls.push(ws.url()));
    return urls;
  };

  it('origin not allowed (403 before the upgrade): the ticker backs off, never live', async () => {
    // A page on another site. A browser shows a refused upgrade as a failed
    // connection (1006): the ticker cannot tell it from a network failure,
    // so it backs off, and its probe over HTTPS fails too (no CORS answer
    // for this origin), so it never falls back to SSE.
    let urls;
    const page = await openPage([{ topics: 'refused' }], {
      server: strict, origin: 'https://refused.example', script: `${strict.origin}/ticker.js`,
      state: null, setup: (p) => { urls = sockets(p); },
    });
    await page.waitForFunction(() => document.querySelector('[data-alert-ticker]').dataset.state === 'reconnecting',
      null, { timeout: LIVE_MS, polling: 50 });
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(urls.length >= 1, 'a WebSocket was tried');
    const st = await page.$eval('[data-alert-ticker]', (e) => [e.dataset.state, e.dataset.transport]);
    assert.notEqual(st[0], 'live', `refused, yet ${st}`);
    assert.notEqual(st[1], 'sse', 'fell back to SSE for a refused origin');
    await page.close();
  });

  it('4029 (too many connections): backs off at least 5 s, stays on WebSocket', async () => {
    let urls;
    const page = await openPage([{ topics: 'first' }, { topics: 'second' }], {
      server: strict, origin: `https://localhost:${strict.port}`, state: null,
      setup: (p) => { urls = sockets(p); },
    });
    // One ticker holds the only connection; the other is refused with 4029.
    await page.waitForFunction(() => {
      const s = [...document.querySelectorAll('[data-alert-ticker]')].map((e) => e.dataset.state).sort();
      return s[0] === 'live' && s[1] === 'reconnecting';
    }, null, { timeout: LIVE_MS, polling: 50 });
    const refused = await page.$eval('[data-alert-ticker][data-state=reconnecting]', (e) => e.dataset.topics);
    const tries = () => urls.filter((u) => u.includes(`topics=${refused}`)).length;
    const before = tries();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(tries(), before, 'no new attempt within 4 s of a 4029');
    // Free the connection: removing a ticker element stops it; the other gets in.
    await page.evaluate((keep) => {
      document.querySelector(`[data-alert-ticker]:not([data-topics="${keep}"])`).remove();
    }, refused);
    await page.waitForSelector(`[data-topics="${refused}"][data-state=live]`, { timeout: 70000 });
    assert.ok(Date.now() - t0 >= 4000);
    assert.equal(await page.$eval('[data-alert-ticker]', (e) => e.dataset.transport), 'ws');
    await page.close();
  });
});

describe('demo page', () => {
  // Its ticker shows every topic, so it gets an alertd and Redis of its own.
  let ddir, dredis, dalertd;
  before(async () => {
    ddir = S.tempDir();
    dredis = await new S.Redis(ddir).start();
    dalertd = await new S.Alertd(ddir, dredis, tls).start();
  }, { timeout: 30000 });
  after(async () => {
    if (dalertd && dalertd.proc) await dalertd.stop('SIGKILL');
    if (dredis && dredis.proc) await dredis.stop();
    if (ddir) fs.rmSync(ddir, { recursive: true, force: true });
  });

  it('looks like a news page with the ticker; loads nothing from elsewhere; screenshot', async (t) => {
    const pub = (...a) => S.publish(dredis, ...a);
    const origin = dalertd.origin;
    await pub('push', '--headline', 'Ferry operator publishes reduced autumn timetable', '--urgency', 'routine',
      '--topic', 'region', '--url', 'https://news.example/ferries', '--byline', 'Ledger staff');
    const council = await pub('push', '--headline', 'Councils to review promenade flood barriers on Thursday',
      '--urgency', 'urgent', '--topic', 'region', '--summary', 'Engineers say the barriers can go up in under four hours.',
      '--byline', 'Mara Lindqvist');
    await pub('push', '--headline', 'Gale warning issued for the northern coast from 18:00', '--urgency', 'urgent',
      '--topic', 'weather', '--url', 'https://news.example/gale', '--image', `${origin}/demo-storm.svg`,
      '--caption', 'Storm clouds gather over the harbour wall.', '--image-credit', 'Ledger graphics',
      '--byline', 'Weather desk', '--credit', 'Some information from the regional weather service');
    await pub('update', council, '--headline', 'Councils bring flood barrier review forward to Wednesday');

    const page = await browser.context.newPage();
    const foreign = [];
    page.on('request', (r) => { if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:')) foreign.push(r.url()); });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(origin + '/');
    await page.waitForSelector('[data-alert-ticker][data-state=live]', { timeout: LIVE_MS });
    const flash = await pub('push', '--headline', 'Magnitude 6.1 earthquake strikes off the northern coast',
      '--urgency', 'flash', '--topic', 'world', '--url', 'https://news.example/quake',
      '--summary', 'No tsunami warning has been issued, the weather service said.', '--byline', 'Ledger wire',
      '--credit', 'Some information from AP and Reuters');
    await page.waitForSelector(`.alert-ticker__banner [data-id="${flash}"]`, { timeout: 3000 });
    await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 5000 });

    const facts = await page.evaluate(() => ({
      lang: document.documentElement.lang,
      title: document.title,
      h1: document.querySelectorAll('h1').length,
      items: document.querySelectorAll('[data-alert-ticker] [data-id]').length,
      imgsWithoutAlt: [...document.images].filter((i) => !i.hasAttribute('alt')).length,
      storm: [...document.images].filter((i) => i.src.endsWith('/demo-storm.svg') && i.naturalWidth > 0).length,
      landmarks: ['header', 'nav', 'main', 'aside', 'footer'].filter((s) => document.querySelector(s)),
    }));
    assert.deepEqual(facts.landmarks, ['header', 'nav', 'main', 'aside', 'footer']);
    assert.equal(facts.lang, 'en');
    assert.equal(facts.h1, 1);
    assert.equal(facts.items, 4, 'four stories: the update replaced its alert');
    assert.equal(facts.imgsWithoutAlt, 0);
    assert.equal(facts.storm, 1, 'the alert image loaded');
    assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
    assert.deepEqual(errors, []);

    fs.mkdirSync(S.ARTIFACTS, { recursive: true });
    const file = path.join(S.ARTIFACTS, 'demo.png');
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    // The ticker up close, dark, and narrow: for a person to look at.
    await page.locator('[data-alert-ticker]').screenshot({ path: path.join(S.ARTIFACTS, 'demo-ticker.png'), animations: 'disabled' });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(S.ARTIFACTS, 'demo-dark.png'), animations: 'disabled' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: path.join(S.ARTIFACTS, 'demo-narrow.png'), animations: 'disabled' });
    t.diagnostic(`screenshots: ${path.relative(process.cwd(), file)} (and demo-ticker, demo-dark, demo-narrow)`);
    await page.close();
  });
});
