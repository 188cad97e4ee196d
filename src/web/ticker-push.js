/*! alertd ticker-push.js: the ticker's "notify me" control (data-push).
 *
 * A module that ticker.js imports from where it came from, only for a ticker
 * with data-push="https://push.example.org" (the alertd-push gateway) in a
 * browser with the Push API. It registers the site's service worker
 * (data-push-worker, default /push-sw.js: alertd serves one to copy), and on
 * a click subscribes with the gateway's VAPID key and registers the
 * subscription with the ticker's topics and languages; a second click
 * unregisters. Protocol: proto/PROTOCOL.md, section 13; README.md,
 * "Embedding the ticker".
 */
const P = 'alert-ticker';
// The worker's own scope controls no page, so a site's own service worker
// (at "/") is left alone: push events reach a registration whatever its scope.
const SCOPE = '/alert-ticker-push/';
const STORE = P + '-push:'; // + gateway: the registration's id (localStorage)

// The control's words, in the order of WORDS, per language of ticker.js's
// table (data-text-notify and data-text-blocked override them).
const WORDS = ['notify', 'blocked'];
const STRINGS = {
  en: 'Notify me|Notifications blocked',
  fr: 'M’alerter|Notifications bloquées',
  de: 'Benachrichtigen|Benachrichtigungen blockiert',
  es: 'Avisarme|Notificaciones bloqueadas',
  pt: 'Avisar-me|Notificações bloqueadas',
  it: 'Avvisami|Notifiche bloccate',
  nl: 'Meldingen ontvangen|Meldingen geblokkeerd',
  pl: 'Powiadamiaj mnie|Powiadomienia zablokowane',
  ru: 'Уведомлять меня|Уведомления заблокированы',
  uk: 'Сповіщати мене|Сповіщення заблоковано',
  tr: 'Bana bildir|Bildirimler engellendi',
  sw: 'Nijulishe|Arifa zimezuiwa',
  id: 'Beri tahu saya|Notifikasi diblokir',
  vi: 'Thông báo cho tôi|Thông báo bị chặn',
  hi: 'मुझे सूचित करें|सूचनाएँ अवरुद्ध हैं',
  zh: '接收通知|通知已被屏蔽',
  'zh-hant': '接收通知|通知已遭封鎖',
  ja: '通知を受け取る|通知はブロックされています',
  ko: '알림 받기|알림이 차단됨',
  ar: 'نبّهني|الإشعارات محظورة',
  fa: 'به من خبر بده|اعلان\u200cها مسدود است',
  ur: 'مجھے مطلع کریں|اطلاعات مسدود ہیں',
  ps: 'ما خبر کړه|خبرتیاوې بندې دي',
  he: 'עדכנו אותי|ההתראות חסומות',
};

const CSS =
  `.${P}__push{font:inherit;letter-spacing:inherit;text-transform:inherit;cursor:pointer;` +
  'color:var(--_fg);background:transparent;border:1px solid var(--_border);border-radius:3px;padding:.15em .6em}' +
  `.${P}__head .${P}__status{margin-inline-start:auto}` +
  `.${P}__push[aria-pressed=true]{background:var(--_fg);color:var(--_bg)}` +
  `.${P}__push[aria-disabled=true]{cursor:default;color:var(--_muted)}` +
  `.${P}__push:focus-visible{outline:3px solid var(--_focus);outline-offset:2px}`;

const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

const style = () => {
  if (document.getElementById(P + '-push-style')) return;
  const s = document.createElement('style');
  s.id = P + '-push-style';
  s.textContent = CSS;
  (document.head || document.documentElement).appendChild(s);
};

/** JSON from the gateway, or an error naming its answer. */
const call = async (url, init) => {
  const r = await fetch(url, { credentials: 'omit', cache: 'no-store', ...init });
  const j = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok && r.status !== 404) throw new Error(`${init ? init.method : 'GET'} ${url}: HTTP ${r.status} ${(j && j.error) || ''}`);
  return j;
};

const stored = (k, v) => {
  try {
    if (v === undefined) return localStorage.getItem(k);
    if (v === null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch (e) { /* storage blocked: registered for this page's life only */ }
  return null;
};

/** Adds the control to a ticker's head: `t` is the Ticker (el, topics, lang),
 * `gw` the gateway's URL, `lang` the widget's language in the table. */
export async function control(t, head, gw, lang) {
  const d = t.el.dataset, w = (STRINGS[lang] || STRINGS.en).split('|'), s = {};
  WORDS.forEach((k, n) => { s[k] = d['text' + k[0].toUpperCase() + k.slice(1)] || w[n]; });
  const base = gw.replace(/[?#].*$/, '').replace(/\/+$/, ''), key = STORE + base;
  const body = (sub) => JSON.stringify({
    provider: 'webpush', subscription: sub.toJSON(),
    topics: t.topics ? t.topics.split(',') : [], langs: t.lang ? t.lang.split(',') : [],
  });
  const post = async (sub) => {
    const j = await call(base + '/v1/push/registrations',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(sub) });
    stored(key, j.id);
  };

  const reg = await navigator.serviceWorker.register(d.pushWorker || '/push-sw.js', { scope: SCOPE });
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = P + '__push';
  btn.textContent = s.notify;
  const show = (on) => {
    const blocked = Notification.permission === 'denied';
    btn.textContent = blocked ? s.blocked : s.notify;
    btn.setAttribute('aria-pressed', String(!blocked && on));
    btn.setAttribute('aria-disabled', String(blocked));
  };

  // A subscription this gateway knows is refreshed at every start (§13).
  let sub = await reg.pushManager.getSubscription();
  let on = !!(sub && stored(key) && Notification.permission === 'granted');
  if (on) await post(sub).catch((e) => console.warn('alert-ticker: notify me:', e.message));
  show(on);

  btn.addEventListener('click', async () => {
    if (btn.getAttribute('aria-busy') || Notification.permission === 'denied') return;
    btn.setAttribute('aria-busy', 'true');
    try {
      if (on) {
        const id = stored(key);
        if (id) await call(base + '/v1/push/registrations/' + encodeURIComponent(id), { method: 'DELETE' });
        stored(key, null);
        if (sub) await sub.unsubscribe();
        sub = null;
        on = false;
      } else if (await Notification.requestPermission() === 'granted') {
        const { vapid_public_key: vapid } = await call(base + '/v1/push/vapid');
        const opts = { userVisibleOnly: true, applicationServerKey: unb64(vapid) };
        // A subscription made with another key (a new gateway key) cannot be reused.
        if (sub) await sub.unsubscribe();
        sub = await reg.pushManager.subscribe(opts);
        await post(sub);
        on = true;
      }
    } catch (e) {
      console.warn('alert-ticker: notify me:', e.message);
    } finally {
      btn.removeAttribute('aria-busy');
      show(on);
    }
  });
  style();
  head.append(btn);
}
