// Real peers for the browser tests: a private redis-server, alertd with a
// self-signed certificate, the `alert` CLI, and Debian's Chromium driven by
// playwright-core. Every process is started here on a free loopback port and
// stopped by its pid; every wait has a deadline. Nothing is mocked.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..', '..');
export const BUILD = path.resolve(ROOT, 'tests', 'browser', process.env.ALERT_BUILD || '../../build');
export const ALERTD = path.join(BUILD, 'alertd');
export const ALERT = path.join(BUILD, 'alert');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
export const WEB = path.join(ROOT, 'src', 'web');

const started = new Set(); // child processes still running, killed on exit

process.on('exit', () => {
  for (const p of started) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Fails with one clear message for each thing the tests cannot run without. */
export function checkPrerequisites() {
  const missing = [];
  for (const [file, hint] of [
    [ALERTD, 'build it with `make` (or set ALERT_BUILD)'],
    [ALERT, 'build it with `make` (or set ALERT_BUILD)'],
    [CHROMIUM, 'install it with `apt-get install -y chromium` (or set CHROMIUM)'],
  ]) {
    try { fs.accessSync(file, fs.constants.X_OK); } catch { missing.push(`${file} is missing: ${hint}`); }
  }
  for (const cmd of ['redis-server', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
      missing.push(`${cmd} is not on PATH: install it with apt-get`);
    }
  }
  if (missing.length) throw new Error('browser tests cannot run:\n  ' + missing.join('\n  '));
}

/** axe-core's script, to inject into a page, or an error that says how to
 * install it. */
export function loadAxe() {
  try {
    return fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  } catch (e) {
    throw new Error(`axe-core is not installed: run \`npm ci\` in tests/browser (${e.message})`);
  }
}

/** playwright-core, or an error that says how to install it. */
export async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed: run \`npm ci\` in tests/browser (${e.message})`);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1' });
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(30);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function track(child) {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** Sends a signal to a child we started and waits (bounded) for its exit code. */
async function stopChild(child, signal = 'SIGTERM', timeoutMs = 30000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child && child.exitCode;
  const exited = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
  process.kill(child.pid, signal);
  const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
  const rc = await exited;
  clearTimeout(t);
  return rc;
}

export class Redis {
  constructor(dir) {
    this.dir = dir;
  }

  get url() { return `redis://127.0.0.1:${this.port}`; }

  async start() {
    this.port ||= await freePort();
    this.proc = track(spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, 'redis.log'), 'a')] }));
    await waitPort(this.port);
    return this;
  }

  stop() { return stopChild(this.proc); }
}

/** A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, and
 * the base64 SHA-256 of its public key, which Chromium accepts with
 * --ignore-certificate-errors-spki-list (no blanket ignoring of errors). */
export function makeCert(dir) {
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
  { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error('openssl req failed: ' + r.stderr);
  const der = spawnSync('sh', ['-c', `openssl x509 -in '${cert}' -pubkey -noout | openssl pkey -pubin -outform der`],
    { timeout: 30000 }).stdout;
  if (!der || !der.length) throw new Error('cannot extract the public key of ' + cert);
  return { cert, key, pem: fs.readFileSync(cert), spki: createHash('sha256').update(der).digest('base64') };
}

/** GET https://127.0.0.1:port/path, verifying against our certificate. */
export function httpsGet(port, pathname, tls, { headers = {}, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: pathname, ca: tls.pem, headers, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname}: timed out`)));
    req.on('error', reject);
  });
}

export class Alertd {
  constructor(dir, redis, tls, extra = []) {
    Object.assign(this, { dir, redis, tls, extra });
    this.log = path.join(dir, 'alertd.log');
  }

  get origin() { return `https://127.0.0.1:${this.port}`; }

  async start() {
    this.port ||= await freePort();
    const argv = ['--listen', `127.0.0.1:${this.port}`, '--redis', this.redis.url, '--prefix', 'alert',
      '--tls-cert', this.tls.cert, '--tls-key', this.tls.key, '--workers', '1', '--log-level', 'info',
      ...this.extra];
    fs.appendFileSync(this.log, `==== alertd ${argv.join(' ')}\n`);
    const out = fs.openSync(this.log, 'a');
    this.proc = track(spawn(ALERTD, argv, { cwd: this.dir, stdio: ['ignore', out, out] }));
    fs.closeSync(out);
    await this.waitReady();
    return this;
  }

  async waitReady(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`alertd exited with ${this.proc.exitCode}\n${this.tail()}`);
      try {
        const r = await httpsGet(this.port, '/readyz', this.tls, { timeoutMs: 1000 });
        if (r.status === 200) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = e.message;
      }
      await sleep(50);
    }
    throw new Error(`alertd not ready within ${timeoutMs} ms (${last})\n${this.tail()}`);
  }

  /** SIGTERM (graceful drain) and the exit status, which should be 0. */
  stop(signal = 'SIGTERM') { return stopChild(this.proc, signal); }

  get(pathname, opts) { return httpsGet(this.port, pathname, this.tls, opts); }

  tail(lines = 40) {
    try {
      return fs.readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no alertd log)';
    }
  }
}

/** Runs the real `alert` CLI against our Redis: {code, stdout, stderr}. */
export function alertCli(redis, args, timeoutMs = 20000) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ALERT_REDIS_URL;
    execFile(ALERT, [...args, '--redis', redis.url], { env, timeout: timeoutMs },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout: stdout.trim(), stderr }));
  });
}

/** `alert push|update|retract ...` that must succeed; returns the new id. */
export async function publish(redis, ...args) {
  const r = await alertCli(redis, args);
  if (r.code !== 0 || !/^\d+-\d+$/.test(r.stdout)) {
    throw new Error(`alert ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** Headless Debian Chromium with a throwaway profile, trusting only our
 * certificate's key. */
export async function launchChromium(tls) {
  const { chromium } = await loadPlaywright();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'alertd-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    // Test pages fulfilled by page.route() count as public, so Chromium's
    // Local Network Access check would stop their WebSockets to 127.0.0.1
    // (and the ticker would fall back to SSE). Real deployments are not on
    // loopback; here the tests allow it.
    permissions: ['local-network-access'],
    timezoneId: 'UTC',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${tls.spki}`],
    timeout: 30000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function tempDir(prefix = 'alertd-browser-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const ALERTD_PUSH = path.join(BUILD, 'alertd-push');

/** GET http://127.0.0.1:port/path (plain: the metrics port). */
function httpGet(port, pathname, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${pathname}: timed out`)));
    req.on('error', reject);
  });
}

/** alertd-push, the push gateway, on our Redis and certificate, with a VAPID
 * key made here; its API over TLS, its metrics on a plain port. */
export class PushGateway {
  constructor(dir, redis, tls, extra = []) {
    Object.assign(this, { dir, redis, tls, extra });
    this.log = path.join(dir, 'alertd-push.log');
  }

  get origin() { return `https://127.0.0.1:${this.port}`; }

  async start() {
    this.port ||= await freePort();
    this.metricsPort ||= await freePort();
    const vapid = path.join(this.dir, 'vapid.pem');
    if (!fs.existsSync(vapid)) {
      const r = spawnSync('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', vapid],
        { encoding: 'utf8', timeout: 30000 });
      if (r.status !== 0) throw new Error('openssl ecparam failed: ' + r.stderr);
    }
    const argv = ['--listen', `127.0.0.1:${this.port}`, '--metrics-listen', `127.0.0.1:${this.metricsPort}`,
      '--redis', this.redis.url, '--tls-cert', this.tls.cert, '--tls-key', this.tls.key,
      '--vapid-key', vapid, '--name', 'browser-gw', ...this.extra];
    fs.appendFileSync(this.log, `==== alertd-push ${argv.join(' ')}\n`);
    const out = fs.openSync(this.log, 'a');
    this.proc = track(spawn(ALERTD_PUSH, argv, { cwd: this.dir, stdio: ['ignore', out, out] }));
    fs.closeSync(out);
    const deadline = Date.now() + 15000;
    let last = '';
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`alertd-push exited with ${this.proc.exitCode}\n${this.tail()}`);
      try {
        const r = await httpGet(this.metricsPort, '/readyz', 1000);
        if (r.status === 200) return this;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = e.message;
      }
      await sleep(50);
    }
    throw new Error(`alertd-push not ready within 15 s (${last})\n${this.tail()}`);
  }

  /** The value of the counter alertd_push_NAME. */
  async metric(name) {
    const r = await httpGet(this.metricsPort, '/metrics');
    const m = new RegExp(`^alertd_push_${name} (\\d+)$`, 'm').exec(r.body);
    if (!m) throw new Error(`no metric alertd_push_${name}`);
    return Number(m[1]);
  }

  get(pathname, opts) { return httpsGet(this.port, pathname, this.tls, opts); }

  stop(signal = 'SIGTERM') { return stopChild(this.proc, signal); }

  tail(lines = 40) {
    try {
      return fs.readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no alertd-push log)';
    }
  }
}

/** What most browser test files run against, started into `st` (filled as
 * it goes, so that stopStack cleans up after a start that failed halfway):
 * a temporary directory, a certificate, redis-server, alertd with
 * `alertdArgs`, and Chromium. */
export async function startStack(st, alertdArgs = []) {
  st.dir = tempDir();
  st.tls = makeCert(st.dir);
  st.redis = await new Redis(st.dir).start();
  st.alertd = await new Alertd(st.dir, st.redis, st.tls, alertdArgs).start();
  st.browser = await launchChromium(st.tls);
  return st;
}

export async function stopStack(st) {
  if (st.browser) await st.browser.close();
  if (st.alertd && st.alertd.proc) await st.alertd.stop('SIGKILL');
  if (st.redis && st.redis.proc) await st.redis.stop();
  if (st.dir) fs.rmSync(st.dir, { recursive: true, force: true });
}
