// What a reader sees of the ticker, in Debian's Chromium against a real alertd
// and redis-server (as ticker.test.mjs): the widget's words in the reader's
// language and direction with Intl times, a site's own words, the flash the
// banner keeps, image renditions, and axe-core's WCAG 2.1 A/AA audit of the
// demo page and of a right-to-left page. Every wait is bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { LIVE_MS, pages, waitIds } from './lib/pages.mjs';
import * as S from './lib/servers.mjs';

const it = (name, fn) => test(name, { timeout: 90000 }, fn);

S.checkPrerequisites();
await S.loadPlaywright();
const AXE = S.loadAxe();

let dir, tls, redis, alertd, browser;
const stack = {}; // S.startStack fills it; S.stopStack cleans it up
const env = {};
const openPage = pages(env);

before(async () => {
  ({ dir, tls, redis, alertd, browser } = await S.startStack(stack));
  Object.assign(env, { alertd, browser });
}, { timeout: 60000 });

after(() => S.stopStack(stack));

// ---- helpers ----------------------------------------------------------------

let seq = 0;
const topic = (name) => `${name}-${process.pid % 10000}-${++seq}`;
const push = (...args) => S.publish(redis, 'push', ...args);
/** Publishes an item given as JSON (for fields the options do not cover). */
const pushItem = (item) => {
  const file = path.join(dir, `item-${++seq}.json`);
  fs.writeFileSync(file, JSON.stringify(item));
  return push('-f', file);
};

/** Waits until the ticker `sel` has `id` in its banner. */
const waitBanner = (page, id, sel = '[data-alert-ticker]', timeout = 5000) =>
  page.waitForSelector(`${sel} .alert-ticker__banner [data-id="${id}"]`, { timeout });

/** The WCAG 2.1 A and AA violations axe-core finds on the page, one line each. */
async function axeViolations(page) {
  // Items fade in: audit what stays, not a frame of the animation.
  await page.waitForFunction(() => document.getAnimations()
    .every((a) => a.effect.getTiming().iterations === Infinity || a.playState === 'finished'), null, { timeout: 5000 });
  await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'],
    });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.join(' ')}: ${n.failureSummary}`));
  });
}

/** For each <time> the widget shows: [its text and title, what Intl makes of
 * its datetime in `locale` with the widget's options]. */
const timesIn = (page, sel, locale) => page.$$eval(`${sel} time`, (ts, loc) => ts.map((t) => {
  const d = new Date(t.dateTime), today = d.toDateString() === new Date().toDateString();
  const short = { hour: '2-digit', minute: '2-digit', ...(today ? {} : { month: 'short', day: 'numeric' }) };
  return [[t.textContent, t.title], [new Intl.DateTimeFormat(loc, short).format(d),
    new Intl.DateTimeFormat(loc, { dateStyle: 'full', timeStyle: 'short' }).format(d)]];
}), locale);

/** The widget's words and language as a ticker shows them. */
const words = (page, sel) => page.$eval(sel, (el) => {
  const q = (c) => { const e = el.querySelector('.alert-ticker__' + c); return e && e.textContent; };
  return {
    lang: el.getAttribute('lang'), dir: getComputedStyle(el).direction,
    title: q('title'), status: q('status'), label: q('label'), tag: q('tag'),
  };
});

// ---- the tests ----------------------------------------------------------------

describe('the reader\'s language', () => {
  it('a Persian page: Persian words, a mirrored layout, Persian digits in times; no axe violations', async (t) => {
    const T = topic('fa');
    const orig = await push('--headline', 'Storm warning for the coast', '--urgency', 'routine', '--topic', T,
      '--image', `${alertd.origin}/demo-storm.svg`, '--caption', 'Clouds over the harbour');
    const up = await S.publish(redis, 'update', orig, '--headline', 'Storm reaches the coast',
      '--image', `${alertd.origin}/demo-storm.svg`, '--caption', 'Clouds over the harbour');
    const flash = await push('--headline', 'زمین‌لرزه‌ای به بزرگی ۶٫۱ سواحل شمالی را لرزاند', '--lang', 'fa',
      '--urgency', 'flash', '--topic', T, '--url', 'https://news.example/fa');
    const page = await openPage([{ topics: T }], { html: 'lang="fa" dir="rtl"' });
    await waitIds(page, [flash, up]);
    await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 5000 });

    assert.deepEqual(await words(page, '[data-alert-ticker]'), {
      lang: null, dir: 'rtl', title: 'آخرین خبرها', status: 'زنده', label: 'خبر فوری', tag: 'به\u200cروزشده',
    });
    const layout = await page.$eval('[data-alert-ticker]', (el, id) => {
      const r = (sel) => el.querySelector(sel).getBoundingClientRect();
      const cs = (sel) => getComputedStyle(el.querySelector(sel));
      const box = el.getBoundingClientRect();
      const item = `[data-id="${id}"] `;
      return {
        // Mirrored: the title starts at the right, the connection state at the left...
        titleAtRight: box.right - r('.alert-ticker__title').right < 25,
        statusAtLeft: r('.alert-ticker__status').left - box.left < 25,
        // ...the Updated mark comes first (on the right) in its row, the image right of its caption.
        tagRightOfTime: r(item + '.alert-ticker__tag').left > r(item + '.alert-ticker__time').right,
        imageRightOfCaption: r(item + 'img').left > r(item + 'figcaption').right,
        // No tracking between Arabic-script letters (it would break their joining).
        labelSpacing: parseFloat(cs('.alert-ticker__label').letterSpacing) || 0,
        // The alerts keep their own language and direction.
        englishHeadline: [el.querySelector(item).lang, cs(item + '.alert-ticker__headline').direction],
        metaLang: el.querySelector(item + '.alert-ticker__meta').lang,
      };
    }, up);
    assert.deepEqual(layout, {
      titleAtRight: true, statusAtLeft: true, tagRightOfTime: true, imageRightOfCaption: true,
      labelSpacing: 0, englishHeadline: ['en', 'ltr'], metaLang: 'fa',
    });
    const times = await timesIn(page, '[data-alert-ticker]', 'fa');
    assert.equal(times.length, 2);
    for (const [got, want] of times) {
      assert.deepEqual(got, want, 'times formatted by Intl in Persian');
      assert.match(got[0], /[۰-۹]/, `Persian digits in ${got[0]}`);
      assert.doesNotMatch(got.join(' '), /[0-9]/, `no ASCII digits in ${got}`);
    }
    fs.mkdirSync(S.ARTIFACTS, { recursive: true });
    await page.locator('[data-alert-ticker]').screenshot({ path: path.join(S.ARTIFACTS, 'ticker-fa.png'), animations: 'disabled' });
    t.diagnostic('screenshot: tests/artifacts/ticker-fa.png');
    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('data-ui-lang beats the page\'s lang; pt-BR is pt; an unknown language falls through to English; a site\'s own words', async () => {
    const T = topic('langs');
    const flash = await push('--headline', 'One flash for every ticker', '--urgency', 'flash', '--topic', T);
    const page = await openPage([
      { topics: T },
      { topics: T, 'ui-lang': 'de' },
      { topics: T, 'ui-lang': 'tlh' },
      { topics: T, 'ui-lang': 'en-GB', 'text-live': 'On air', 'text-breaking': 'Just in' },
      { topics: T, 'ui-lang': 'ar-EG' },
      { topics: T, 'ui-lang': 'zh-TW' },
    ], { html: 'lang="pt-BR"' });
    const sel = ['[data-alert-ticker]:not([data-ui-lang])', ...['de', 'tlh', 'en-GB', 'ar-EG', 'zh-TW']
      .map((l) => `[data-ui-lang="${l}"]`)];
    for (const s of sel) await waitBanner(page, flash, s);
    const got = [];
    for (const s of sel) got.push(await words(page, s));
    const w = (lang, dir, title, status, label) => ({ lang, dir, title, status, label, tag: null });
    assert.deepEqual(got, [
      w(null, 'ltr', 'Últimos alertas', 'Ao vivo', 'Última hora'), // the page's pt-BR: pt
      w('de', 'ltr', 'Aktuelle Meldungen', 'Live', 'Eilmeldung'), // data-ui-lang wins
      w(null, 'ltr', 'Últimos alertas', 'Ao vivo', 'Última hora'), // unknown: the page's language
      w('en-GB', 'ltr', 'Latest alerts', 'On air', 'Just in'), // the site's own words
      w('ar-EG', 'rtl', 'آخر الأخبار', 'مباشر', 'عاجل'), // right to left on a left-to-right page
      w('zh-TW', 'ltr', '最新快訊', '即時', '突發新聞'), // Traditional Chinese
    ]);
    // Times follow the widget's language with its region, not the browser's (en-US).
    for (const [s, locale] of [[sel[0], 'pt-BR'], [sel[1], 'de'], [sel[3], 'en-GB'], [sel[4], 'ar-EG']]) {
      const [[have, want]] = await timesIn(page, s, locale);
      assert.deepEqual(have, want, `${s}: Intl in ${locale}`);
    }
    const [[gb]] = await timesIn(page, sel[3], 'en-GB');
    assert.doesNotMatch(gb[0], /AM|PM/, 'en-GB: a 24-hour clock');
    await page.close();

    // A page in a language the widget has no words for: English, said so with lang.
    const other = await openPage([{ topics: T }], { html: 'lang="tlh"' });
    await waitBanner(other, flash);
    assert.deepEqual(await words(other, '[data-alert-ticker]'), w('en', 'ltr', 'Latest alerts', 'Live', 'Breaking news'));
    await other.close();
  });
});

describe('the banner', () => {
  it('a flash keeps the banner before later, less urgent alerts for data-flash-hold seconds; retracted or expired, it goes', async () => {
    const T = topic('hold');
    const page = await openPage([{ topics: T, 'flash-hold': 3 }, { topics: T, 'flash-hold': 600 }]);
    const short = '[data-flash-hold="3"]', long = '[data-flash-hold="600"]';
    const banner = (sel) => page.$eval(`${sel} .alert-ticker__banner`, (b) => {
      const a = b.querySelector('[data-id]');
      return [a && a.dataset.id, b.getAttribute('aria-live')];
    });
    const flash = await push('--headline', 'Flash', '--urgency', 'flash', '--topic', T);
    await waitBanner(page, flash, long);
    const bul = await push('--headline', 'Later bulletin', '--urgency', 'bulletin', '--topic', T);
    // The bulletin waits in the list; the flash stays in front, assertive.
    await waitIds(page, [flash, bul], { sel: long });
    assert.deepEqual(await banner(long), [flash, 'assertive']);

    // Released 3 s after its publication, not before: the bulletin takes the banner, politely.
    const released = await (await page.waitForFunction(([s, id]) => {
      const b = document.querySelector(`${s} .alert-ticker__banner [data-id]`);
      return b && b.dataset.id === id ? Date.now() : 0;
    }, [short, bul], { timeout: 10000, polling: 50 })).jsonValue();
    const published = Date.parse(await page.$eval(`${short} [data-id="${flash}"] time`, (e) => e.dateTime));
    assert.ok(released >= published + 3000, `released ${released - published} ms after publication`);
    assert.deepEqual(await banner(short), [bul, 'polite']);
    await waitIds(page, [bul, flash], { sel: short });
    // The 600 s hold keeps it meanwhile.
    assert.deepEqual(await banner(long), [flash, 'assertive']);

    // A newer flash is not less urgent: it takes the banner at once; retracted,
    // it leaves at once, and the flash still held comes back.
    const second = await push('--headline', 'Second flash', '--urgency', 'flash', '--topic', T);
    await waitIds(page, [second, bul, flash], { sel: long });
    await S.publish(redis, 'retract', second);
    await waitIds(page, [flash, bul], { sel: long });
    // So does one that expires.
    const brief = await push('--headline', 'Brief flash', '--urgency', 'flash', '--topic', T, '--expires', '4s');
    await waitIds(page, [brief, bul, flash], { sel: long });
    await waitIds(page, [flash, bul], { sel: long, timeout: 9000 });
    await S.publish(redis, 'retract', flash);
    await waitIds(page, [bul], { sel: long });
    await waitIds(page, [bul], { sel: short });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('images', () => {
  // A 1x1 PNG for every image URL under https://img.example/.
  const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const images = (page, got) => page.route('https://img.example/**', (r) => {
    got.push(new URL(r.request().url()).pathname);
    return r.fulfill({ contentType: 'image/png', body: PNG });
  });

  it('renditions become srcset with their widths; the browser takes the one for the width laid out', async () => {
    const T = topic('img');
    const base = 'https://img.example/quake';
    const id = await pushItem({
      headline: 'Quake with renditions', urgency: 'routine', topics: [T],
      image: { url: `${base}.png`, caption: 'Rubble in the square', renditions: Object.fromEntries(
        ['xs', 'sm', 'md', 'lg'].map((k) => [k, `${base}-${k}.png`])) },
    });
    const shown = async (extraBody) => {
      const got = [];
      const page = await openPage([{ topics: T }], { extraBody, setup: (p) => images(p, got) });
      await waitIds(page, [id]);
      await page.waitForFunction(() => { const i = document.querySelector('.alert-ticker__figure img'); return i && i.complete && i.currentSrc; },
        null, { timeout: 5000 });
      const img = await page.$eval('.alert-ticker__figure img', (i) => ({
        srcset: i.getAttribute('srcset'), sizes: i.getAttribute('sizes'), src: i.getAttribute('src'),
        current: new URL(i.currentSrc).pathname, width: Math.round(i.getBoundingClientRect().width),
      }));
      await page.close();
      return { ...img, fetched: got };
    };
    const small = await shown('');
    assert.deepEqual({ ...small, width: small.width < 200 }, {
      srcset: `${base}-xs.png 320w, ${base}-sm.png 640w, ${base}-md.png 1024w, ${base}-lg.png 2048w`,
      sizes: 'auto, 7em', src: `${base}-sm.png`, current: '/quake-xs.png', width: true,
      fetched: ['/quake-xs.png'],
    });
    // A site that lays the image out 1000 px wide gets the 1024 px rendition.
    const wide = await shown('<style>.alert-ticker__figure img{width:1000px!important;max-width:none!important}</style>');
    assert.deepEqual([wide.width, wide.current, wide.fetched], [1000, '/quake-md.png', ['/quake-md.png']]);
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

  it('passes axe-core\'s WCAG 2.1 A and AA audit with live alerts shown, light and dark', async () => {
    const T = 'region';
    const push = (...a) => S.publish(dredis, 'push', ...a);
    const orig = await push('--headline', 'Councils to review promenade flood barriers', '--urgency', 'urgent', '--topic', T,
      '--summary', 'Engineers say the barriers can go up in under four hours.', '--byline', 'Mara Lindqvist');
    await S.publish(dredis, 'update', orig, '--headline', 'Councils bring the flood barrier review forward');
    await push('--headline', 'Gale warning for the northern coast', '--urgency', 'urgent', '--topic', T,
      '--url', 'https://news.example/gale', '--image', `${dalertd.origin}/demo-storm.svg`,
      '--caption', 'Storm clouds over the harbour wall.', '--image-credit', 'Ledger graphics', '--credit', 'Weather service');
    await push('--headline', 'Ferry timetable cut for the autumn', '--urgency', 'routine', '--topic', T, '--lang', 'en');
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dalertd.origin + '/');
    await page.waitForSelector('[data-alert-ticker][data-state=live]', { timeout: LIVE_MS });
    const flash = await push('--headline', 'Magnitude 6.1 earthquake strikes off the northern coast', '--urgency', 'flash',
      '--topic', T, '--url', 'https://news.example/quake', '--summary', 'No tsunami warning has been issued.');
    await waitBanner(page, flash);
    await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 5000 });
    assert.ok(await page.$('.alert-ticker__tag'), 'an Updated mark is among what is audited');
    assert.deepEqual(await axeViolations(page), [], 'light');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(await axeViolations(page), [], 'dark');
    // The audit sees the widget: grey on white in an item is found.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.$eval('.alert-ticker__item .alert-ticker__byline', (e) => { e.style.color = '#aaa'; });
    const found = await axeViolations(page);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], /^color-contrast .*alert-ticker__byline/);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
