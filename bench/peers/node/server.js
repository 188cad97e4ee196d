'use strict';
// The WebSocket fan-out a typical team writes (issue #5's Node peer): an HTTPS
// server with `ws`, one Redis subscriber, and every message sent to every
// client. Deliberately plain: no batching, no tuning, nothing removed either.
// Options: --port P --host H --redis URL --channel C --cert FILE --key FILE
//          --workers N (N > 1: node's cluster module, one process per
//          ~15,000 clients, since a process may hold fewer than 20,000 files)
const fs = require('fs');
const https = require('https');
const cluster = require('cluster');
const { WebSocketServer, WebSocket } = require('ws');
const { createClient } = require('redis');

const opt = { port: '8443', host: '127.0.0.1', redis: 'redis://127.0.0.1:6379',
              channel: 'alert:live', cert: '', key: '', workers: '1' };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in opt) || process.argv[i + 1] === undefined) {
    console.error(`server.js: bad option ${process.argv[i]}`);
    process.exit(2);
  }
  opt[name] = process.argv[i + 1];
}

if (cluster.isPrimary && Number(opt.workers) > 1) {
  for (let i = 0; i < Number(opt.workers); i++) cluster.fork();
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill('SIGTERM'); });
  cluster.on('exit', () => { if (Object.keys(cluster.workers).length === 0) process.exit(0); });
} else {
  const server = https.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key) });
  const wss = new WebSocketServer({ server });
  const sub = createClient({ url: opt.redis });
  sub.on('error', (err) => console.error(`redis: ${err.message}`));

  sub.connect()
    .then(() => sub.subscribe(opt.channel, (message) => {
      for (const client of wss.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(message);
      }
    }))
    .then(() => server.listen(Number(opt.port), opt.host, () => {
      console.log(`listening on wss://${opt.host}:${opt.port}/ channel ${opt.channel} pid ${process.pid}`);
    }));

  process.on('SIGTERM', () => {
    for (const client of wss.clients) client.terminate();
    server.close();
    sub.quit().finally(() => process.exit(0));
  });
}
