/*! alertd push-sw.js: the service worker of the ticker's "notify me".
 *
 * Copy it to your site's origin (the widget registers /push-sw.js, or the
 * URL in data-push-worker; alertd serves this one at /push-sw.js). It shows
 * each alert alertd-push sends (proto/PROTOCOL.md, section 13): the headline
 * as the title, the summary as the body, a flash kept until the reader acts,
 * tagged with the story's original id so an update replaces the notification
 * of its alert (and a message sent twice is shown once); a retraction closes
 * the notification of the story it withdraws and shows nothing; a click
 * opens the story's http(s) URL.
 */
'use strict';

/** The href of an absolute http(s) URL, else null. */
const safeUrl = (s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch (e) {
    return null;
  }
};

self.addEventListener('push', (e) => {
  let a = null;
  try { a = e.data && e.data.json(); } catch (x) { /* not JSON: nothing of ours */ }
  if (!a || typeof a !== 'object') return;
  if (a.kind === 'retraction') {
    // Withdrawn: its story's notification goes, if shown; nothing new shows.
    if (typeof a.ref === 'string') {
      e.waitUntil(self.registration.getNotifications({ tag: a.ref })
        .then((shown) => shown.forEach((n) => n.close())));
    }
    return;
  }
  if (typeof a.headline !== 'string') return;
  const story = a.kind === 'update' && typeof a.ref === 'string' ? a.ref : String(a.id);
  const at = Date.parse(a.published_at);
  e.waitUntil(self.registration.showNotification(a.headline, {
    body: typeof a.summary === 'string' ? a.summary : '',
    tag: story,
    lang: typeof a.lang === 'string' ? a.lang : '',
    dir: 'auto',
    requireInteraction: a.urgency === 'flash',
    timestamp: isNaN(at) ? Date.now() : at,
    data: { id: a.id, url: safeUrl(a.url) },
  }));
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const url = e.notification.data && safeUrl(e.notification.data.url);
  if (url) e.waitUntil(self.clients.openWindow(url));
});
