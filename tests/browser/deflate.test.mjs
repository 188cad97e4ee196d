// permessage-deflate in Debian's Chromium: the browser negotiates it with
// alertd (server_no_context_takeover; client_no_context_takeover), sends
// compressed frames alertd reads, and receives the same items, byte for
// byte, as a client that did not offer it (a bare WebSocket client over
// Node's TLS, below). Real alertd, redis-server and `alert` CLI.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import tlsMod from 'node:tls';
import { after, before, test } from 'node:test';

import * as S from './lib/servers.mjs';

const PMD_RESPONSE = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
const it = (name, fn) => test(name, { timeout: 90000 }, fn);

S.checkPrerequisites();
await S.loadPlaywright();

let dir, tls, redis, alertd, browser;
const stack = {}; // S.startStack fills it; S.stopStack cleans it up

before(async () => {
  ({ dir, tls, redis, alertd, browser } = await S.startStack(stack, ['--public-metrics']));
}, { timeout: 60000 });

after(() => S.stopStack(stack));

/** A WebSocket client that offers no extension: the upgrade by hand, then
 * server frames parsed as they come. `texts` fills with text payloads. */
async function plainClient(port, query) {
  const sock = tlsMod.connect({ host: '127.0.0.1', port, ca: tls.pem, servername: 'localhost' });
  await new Promise((resolve, reject) => { sock.once('secureConnect', resolve); sock.once('error', reject); });
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(`GET /v1/ws?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    'Sec-WebSocket-Protocol: alert.v1\r\n\r\n');
  const c = { sock, texts: [], head: null, rsv: [] };
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!c.head) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      c.head = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      if (buf.length < 2) return;
      let n = buf[1] & 0x7f, h = 2;
      if (n === 126) { if (buf.length < 4) return; n = buf.readUInt16BE(2); h = 4; }
      if (n === 127) { if (buf.length < 10) return; n = Number(buf.readBigUInt64BE(2)); h = 10; }
      if (buf.length < h + n) return;
      c.rsv.push(buf[0] & 0x70);
      if ((buf[0] & 0x0f) === 1) c.texts.push(buf.subarray(h, h + n).toString('utf8'));
      buf = buf.subarray(h + n);
    }
  });
  return c;
}

async function until(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await S.sleep(30);
  }
}

async function metric(name) {
  const r = await S.httpsGet(alertd.port, '/metrics', tls);
  const m = r.body.toString().match(new RegExp(`^${name} (\\S+)$`, 'm'));
  assert.ok(m, `no ${name} in /metrics`);
  return Number(m[1]);
}

it('Chromium negotiates permessage-deflate and gets the items a plain client gets', async () => {
  const topic = `deflate-${process.pid}`;
  const plain = await plainClient(alertd.port, `topics=${topic}`);
  const page = await browser.context.newPage();
  await page.route(`${alertd.origin}/deflate.html`, (r) => r.fulfill({
    contentType: 'text/html; charset=utf-8', body: '<!DOCTYPE html><title>deflate</title>',
  }));
  await page.goto(`${alertd.origin}/deflate.html`);
  await page.evaluate(([url]) => new Promise((resolve, reject) => {
    window.__texts = [];
    const ws = new WebSocket(url, 'alert.v1');
    window.__ws = ws;
    ws.onmessage = (e) => window.__texts.push(e.data);
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('WebSocket failed'));
  }), [`wss://127.0.0.1:${alertd.port}/v1/ws?topics=${topic}`]);
  assert.equal(await page.evaluate(() => window.__ws.extensions), PMD_RESPONSE);
  await until('both hellos', async () => plain.texts.length >= 1 &&
    (await page.evaluate(() => window.__texts.length)) >= 1);
  assert.ok(!/permessage-deflate/i.test(plain.head), `plain client got ${plain.head}`);
  assert.ok((await metric('alertd_ws_deflate_clients')) >= 1);

  // What Chromium sends is compressed too, and answered.
  for (let i = 0; i < 3; i++) await page.evaluate(() => window.__ws.send('{"type":"ping"}'));
  await until('3 pongs', async () =>
    (await page.evaluate(() => window.__texts.filter((t) => t === '{"type":"pong"}').length)) === 3);

  const saved0 = await metric('alertd_ws_deflate_bytes_saved_total');
  const summary = 'Tsunami warnings were issued for coastal areas of the region. '.repeat(8);
  const ids = [];
  for (let i = 0; i < 4; i++) {
    ids.push(await S.publish(redis, 'push', '--headline', `Quake ${i} strikes`, '--topic', topic,
      '--summary', summary));
  }
  const alertsOf = (texts) => texts.filter((t) => t.startsWith('{"type":"alert"'));
  await until('4 alerts in the browser', async () =>
    alertsOf(await page.evaluate(() => window.__texts)).length === 4);
  await until('4 alerts on the plain client', () => alertsOf(plain.texts).length === 4);
  const browserAlerts = alertsOf(await page.evaluate(() => window.__texts));
  assert.deepEqual(browserAlerts, alertsOf(plain.texts), 'the browser and the plain client differ');
  assert.deepEqual(browserAlerts.map((t) => JSON.parse(t).alert.id), ids.map((s) => s.trim()));
  assert.ok(plain.rsv.every((r) => r === 0), 'a plain client got a compressed frame');
  assert.ok((await metric('alertd_ws_deflate_bytes_saved_total')) > saved0, 'nothing was compressed');
  await page.close();
  plain.sock.destroy();
});
