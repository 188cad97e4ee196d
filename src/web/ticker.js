/*! alertd ticker.js 1.2.0: an embeddable breaking-news ticker, no dependencies.
 *
 * <div data-alert-ticker data-topics="world" data-lang="en"></div>
 * <script src="https://alerts.example.org/ticker.js" async></script>
 *
 * Attributes, theming (--alert-ticker-* CSS properties), the alert-ticker:alert
 * event, window.AlertTicker, signed alerts (data-verify-keys) and the widget's
 * languages (data-ui-lang, data-text-*): README.md,
 * "Embedding the ticker". Alert text goes in as text, never as HTML; only
 * http(s) URLs become links or images. Protocol: proto/PROTOCOL.md.
 */
(() => {
  'use strict';
  if (window.AlertTicker) return; // included twice

  const VERSION = '1.2.0';
  const P = 'alert-ticker';
  const BASE_MS = 1000, CAP_MS = 60000, HEALTHY_MS = 30000, HIDDEN_MS = 60000;
  const HOLD_S = 300; // data-flash-hold's default
  const WIDTHS = { xs: 320, sm: 640, md: 1024, lg: 2048 }; // image.renditions (PROTOCOL.md §9)
  const TOPIC_RE = /^[a-z0-9-]{1,32}$/, LANG_RE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;
  const ID_RE = /^(\d+)-(\d+)$/;
  // Only the fields shown (fields=; id, kind and ref always come), unless
  // it verifies: a signature covers the whole item.
  const FIELDS = 'urgency,headline,summary,url,byline,credit,lang,image,published_at,expires_at';

  // document.currentScript is only set now.
  const me = document.currentScript;
  const ORIGIN = (() => {
    try {
      const u = new URL(me.src);
      if (/^https?:$/.test(u.protocol)) return u.origin;
    } catch (e) { /* inline script */ }
    return location.origin;
  })();

  /** The href of an absolute http(s) URL, else null. */
  const safeUrl = (s) => {
    if (typeof s !== 'string' || !s) return null;
    try {
      const u = new URL(s);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch (e) {
      return null;
    }
  };

  /** Ids "<ms>-<seq>" compare as two numbers, never as strings. */
  const idCmp = (a, b) => {
    const x = ID_RE.exec(a || ''), y = ID_RE.exec(b || '');
    if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);
    return x[1] - y[1] || x[2] - y[2];
  };

  const rand = (ms) => Math.random() * ms;
  const list = (s, re) => (s || '').split(',').map((t) => t.trim()).filter((t) => re.test(t)).join(',');
  const expired = (a, now) => Date.parse(a.expires_at) <= now; // NaN: never
  const std = (s) => s.replace(/-/g, '+').replace(/_/g, '/'); // base64url -> base64
  const unb64 = (s) => Uint8Array.from(atob(std(s)), (c) => c.charCodeAt(0));
  /** RFC 8785: JSON.stringify with members in the default sort's order (UTF-16 code units). */
  const canon = (v) => Array.isArray(v) ? '[' + v.map(canon) + ']' : v && typeof v === 'object'
    ? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])) + '}' : JSON.stringify(v);
  const breaking = (a) => !a.urgency || a.urgency === 'flash' || a.urgency === 'bulletin';

  /** An element of class alert-ticker__<cls>, text as text. */
  const h = (tag, cls, text, attrs) => {
    const e = document.createElement(tag);
    if (cls) e.className = P + '__' + cls;
    if (text != null) e.textContent = text;
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };

  // ---- i18n: the widget's words, direction and times -------------------------
  // A language's words, in the order of WORDS, joined by "|".
  const WORDS = ['title', 'empty', 'breaking', 'updated', 'live', 'connecting', 'reconnecting', 'offline'];
  const STRINGS = {
    en: 'Latest alerts|No alerts right now.|Breaking news|Updated|Live|Connecting…|Reconnecting…|Offline',
    fr: 'Dernières alertes|Aucune alerte pour le moment.|Dernière minute|Mis à jour|En direct|Connexion…|Reconnexion…|Hors ligne',
    de: 'Aktuelle Meldungen|Zurzeit keine Meldungen.|Eilmeldung|Aktualisiert|Live|Verbinde…|Verbinde erneut…|Offline',
    es: 'Últimas alertas|No hay alertas por ahora.|Última hora|Actualizado|En vivo|Conectando…|Reconectando…|Sin conexión',
    pt: 'Últimos alertas|Nenhum alerta no momento.|Última hora|Atualizado|Ao vivo|Conectando…|Reconectando…|Sem conexão',
    it: 'Ultime allerte|Nessuna allerta al momento.|Ultim’ora|Aggiornato|In diretta|Connessione…|Riconnessione…|Offline',
    nl: 'Laatste meldingen|Geen meldingen op dit moment.|Net binnen|Bijgewerkt|Live|Verbinden…|Opnieuw verbinden…|Offline',
    pl: 'Najnowsze alerty|Brak alertów.|Pilne|Zaktualizowano|Na żywo|Łączenie…|Ponowne łączenie…|Offline',
    ru: 'Последние новости|Сейчас новостей нет.|Срочно|Обновлено|В эфире|Подключение…|Переподключение…|Нет связи',
    uk: 'Останні новини|Наразі новин немає.|Терміново|Оновлено|Наживо|Підключення…|Перепідключення…|Немає зв’язку',
    tr: 'Son gelişmeler|Şu an yeni gelişme yok.|Son dakika|Güncellendi|Canlı|Bağlanıyor…|Yeniden bağlanıyor…|Çevrimdışı',
    sw: 'Taarifa za karibuni|Hakuna taarifa kwa sasa.|Habari za hivi punde|Imesasishwa|Moja kwa moja|Inaunganisha…|Inaunganisha upya…|Nje ya mtandao',
    id: 'Kabar terbaru|Belum ada kabar.|Berita terkini|Diperbarui|Langsung|Menghubungkan…|Menghubungkan ulang…|Luring',
    vi: 'Tin mới nhất|Hiện chưa có tin.|Tin nóng|Đã cập nhật|Trực tiếp|Đang kết nối…|Đang kết nối lại…|Ngoại tuyến',
    hi: 'ताज़ा अलर्ट|अभी कोई अलर्ट नहीं।|ब्रेकिंग न्यूज़|अपडेटेड|लाइव|कनेक्ट हो रहा है…|फिर से कनेक्ट हो रहा है…|ऑफ़लाइन',
    zh: '最新快讯|暂无快讯。|突发新闻|已更新|实时|正在连接…|正在重新连接…|离线',
    'zh-hant': '最新快訊|暫無快訊。|突發新聞|已更新|即時|正在連線…|正在重新連線…|離線',
    ja: '最新の速報|現在、速報はありません。|ニュース速報|更新|ライブ|接続中…|再接続中…|オフライン',
    ko: '최신 속보|지금은 속보가 없습니다.|속보|업데이트|실시간|연결 중…|다시 연결 중…|오프라인',
    ar: 'آخر الأخبار|لا أخبار حاليًا.|عاجل|محدّث|مباشر|جارٍ الاتصال…|جارٍ إعادة الاتصال…|غير متصل',
    fa: 'آخرین خبرها|فعلاً خبری نیست.|خبر فوری|به\u200cروزشده|زنده|در حال اتصال…|در حال اتصال دوباره…|آفلاین',
    ur: 'تازہ ترین خبریں|اس وقت کوئی خبر نہیں۔|بریکنگ نیوز|اپ ڈیٹ شدہ|براہِ راست|رابطہ ہو رہا ہے…|دوبارہ رابطہ ہو رہا ہے…|آف لائن',
    ps: 'وروستي خبرونه|اوس مهال خبر نشته.|بېړنی خبر|تازه شوی|ژوندی|نښلېږي…|بیا نښلېږي…|نالیکه',
    he: 'התראות אחרונות|אין התראות כרגע.|מבזק|עודכן|בשידור חי|מתחבר…|מתחבר מחדש…|לא מקוון',
  };
  const RTL = /^(ar|fa|he|ps|ur)$/;

  /** The table's language for a tag (pt-BR: pt, zh-TW: zh-hant), or ''. */
  const tableLang = (tag) => {
    const t = LANG_RE.test(tag || '') ? tag.toLowerCase() : '';
    if (/^zh-(hant|tw|hk|mo)\b/.test(t)) return 'zh-hant';
    const l = t.split('-')[0];
    return STRINGS.hasOwnProperty(l) ? l : '';
  };

  /** An element's language: data-ui-lang, else the page's (the nearest lang),
   * else English; its words with the site's data-text-* in place; formatters. */
  const ui = (el) => {
    const d = el.dataset, host = el.closest('[lang]');
    const tags = [d.uiLang, host && host.lang, 'en'];
    let i = 0, lang;
    while (!(lang = tableLang(tags[i]))) i++;
    let tag = tags[i];
    try { Intl.DateTimeFormat(tag); } catch (e) { tag = lang; }
    const w = STRINGS[lang].split('|'), s = {};
    WORDS.forEach((k, n) => { s[k] = d[n ? 'text' + k[0].toUpperCase() + k.slice(1) : k] || w[n]; });
    const f = (o) => new Intl.DateTimeFormat(tag, o);
    return {
      lang: tag, own: i !== 1, dir: RTL.test(lang) ? 'rtl' : 'ltr', s,
      hm: f({ hour: '2-digit', minute: '2-digit' }),
      day: f({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }),
      full: f({ dateStyle: 'full', timeStyle: 'short' }),
    };
  };

  const vars = (bg, fg, muted, accent, tag, border, focus) =>
    `--_bg:var(--${P}-bg,${bg});--_fg:var(--${P}-fg,${fg});--_muted:var(--${P}-muted,${muted});` +
    `--_accent:var(--${P}-accent,${accent});--_tag:var(--${P}-tag,${tag});` +
    `--_border:var(--${P}-border,${border});--_focus:var(--${P}-focus,${focus});`;
  const DARK = vars('#16181d', '#eceef2', '#a8adb7', '#c4001d', '#8ab4ff', '#343842', '#8ab4ff');
  const T = '.' + P, E = T + '__';
  const CSS =
    `${T}{${vars('#fff', '#1a1a1a', '#5a5a5a', '#b3001b', '#1d4f9a', '#dcdcdc', '#1d5fd1')}` +
    `display:block;overflow:hidden;text-align:start;font:400 var(--${P}-size,15px)/1.45 var(--${P}-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);` +
    `color:var(--_fg);background:var(--_bg);border:1px solid var(--_border);border-radius:var(--${P}-radius,6px)}` +
    `${T}[data-theme=dark]{${DARK}}@media (prefers-color-scheme:dark){${T}:not([data-theme=light]){${DARK}}}` +
    `${T} *{box-sizing:border-box}` +
    `${E}head{display:flex;justify-content:space-between;align-items:center;gap:1em;padding:.55em 1em;border-bottom:1px solid var(--_border);font-size:.8em;font-weight:700;letter-spacing:.06em;text-transform:uppercase}` +
    `${E}status{display:inline-flex;align-items:center;gap:.4em;color:var(--_muted)}` +
    `${E}status::before{content:"";width:.6em;height:.6em;border-radius:50%;background:var(--_muted)}` +
    `${T}[data-state=live] ${E}status::before{background:var(--_accent);animation:${P}-pulse 2s ease-in-out infinite}` +
    `${E}card{background:var(--_accent);color:var(--${P}-accent-fg,#fff);padding:.8em 1em .9em}` +
    `${E}label{display:block;font-size:.72em;font-weight:800;letter-spacing:.12em;text-transform:uppercase;margin-bottom:.25em}` +
    `${E}card ${E}headline{font-size:1.2em}${E}card ${E}meta,${E}card ${E}byline,${E}card figcaption{color:inherit}` +
    `${E}list{list-style:none;margin:0;padding:0}` +
    `${E}item{padding:.75em 1em;border-top:1px solid var(--_border);animation:${P}-in .35s ease-out}` +
    `${E}item:first-child{border-top:0}` +
    `${E}meta{display:flex;flex-wrap:wrap;align-items:center;gap:.5em;font-size:.78em;color:var(--_muted)}` +
    `${E}tag{padding:.05em .45em;border-radius:3px;background:var(--_tag);color:var(--_bg);font-weight:700;letter-spacing:.06em;text-transform:uppercase}` +
    `${T}--caseless :is(${E}head,${E}label,${E}tag){letter-spacing:0}${T}--caseless ${E}label{font-size:.85em}` +
    `${E}headline{margin:.2em 0 0;font-weight:700;font-size:1.02em;line-height:1.3;overflow-wrap:anywhere}` +
    `${E}headline a{color:inherit;text-decoration:underline 1px;text-underline-offset:.15em;transition:text-decoration-color .15s}` +
    `${E}headline a:hover{text-decoration-thickness:2px}` +
    `${T} a:focus-visible{outline:3px solid var(--_focus);outline-offset:2px;border-radius:2px}` +
    `${E}card a:focus-visible{outline-color:currentColor}` +
    `${E}summary{margin:.3em 0 0;white-space:pre-line;overflow-wrap:anywhere;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:4;overflow:hidden}` +
    `${E}byline{margin:.35em 0 0;font-size:.78em;color:var(--_muted)}` +
    `${E}figure{display:flex;gap:.6em;align-items:flex-start;margin:.5em 0 0}` +
    `${E}figure img{flex:none;width:7em;max-width:40%;aspect-ratio:4/3;height:auto;object-fit:cover;border-radius:3px;background:var(--_border)}` +
    `${E}figure figcaption{font-size:.78em;color:var(--_muted)}` +
    `${E}empty{margin:0;padding:.9em 1em;color:var(--_muted)}` +
    `@keyframes ${P}-in{from{opacity:0;transform:translateY(-.3em)}}` +
    `@keyframes ${P}-pulse{50%{opacity:.35}}` +
    `@media (prefers-reduced-motion:reduce){${T},${T} *,${T} *::before{animation:none!important;transition:none!important}}`;

  const injectStyle = () => {
    if (document.getElementById(P + '-style')) return;
    const s = document.createElement('style');
    s.id = P + '-style';
    s.textContent = CSS;
    (document.head || document.documentElement).appendChild(s);
  };

  class Ticker {
    constructor(el) {
      const d = el.dataset;
      this.el = el;
      this.topics = list(d.topics, TOPIC_RE);
      this.lang = list(d.lang, LANG_RE);
      this.limit = Math.min(50, Math.max(1, parseInt(d.limit, 10) || 5));
      const hold = parseFloat(d.flashHold);
      this.hold = (hold >= 0 ? Math.min(hold, 86400) : HOLD_S) * 1000;
      this.ui = ui(el);
      this.base = ORIGIN;
      if (d.server) {
        let s = null;
        try { s = safeUrl(new URL(d.server, location.href).href); } catch (e) { /* keep ORIGIN */ }
        if (s) this.base = s.replace(/[?#].*$/, '').replace(/\/+$/, '');
      }
      this.stories = new Map(); // original's id -> newest version of the story
      this.alias = new Map(); // id -> original's id
      this.seen = new Set(); // ids taken in
      this.gone = new Set(); // retracted originals
      this.nodes = new Map(); // id -> <li>
      this.got = new WeakMap(); // alert -> when it was taken in
      this.lastId = '';
      this.shedFrom = ''; // resume point during a shed fetch
      this.attempt = 0; // backoff exponent
      this.fails = 0; // connections in a row without hello
      this.mode = 'ws';
      this.pins = d.verifyKeys; // undefined: no verification
      this.maxAge = (parseInt(d.maxAge, 10) || 300) * 1000;
      this.sigs = new Map(); // sig -> id, for replays
      this.vq = Promise.resolve(); // verifications, in order
      this.build();
      this.onVis = () => this.visibility();
      document.addEventListener('visibilitychange', this.onVis);
      this.start();
    }

    build() {
      const el = this.el, u = this.ui, s = u.s, title = s.title;
      el.classList.add(P);
      // Unicameral scripts (Arabic, Devanagari, CJK...): no capitals, no tracking.
      el.classList.toggle(P + '--caseless', s.breaking.toUpperCase() === s.breaking);
      if (u.own) el.lang = u.lang;
      if (!el.hasAttribute('dir')) el.dir = u.dir;
      if (!el.hasAttribute('role')) el.setAttribute('role', 'region');
      if (!el.hasAttribute('aria-label')) el.setAttribute('aria-label', title);
      const head = h('div', 'head');
      head.append(h('span', 'title', title), (this.status = h('span', 'status')));
      this.banner = h('div', 'banner', null, { 'aria-live': 'polite', 'aria-atomic': 'true' });
      this.list = h('ol', 'list', null, { 'aria-live': 'polite', 'aria-label': title });
      this.empty = h('p', 'empty', s.empty);
      this.empty.hidden = true;
      el.textContent = '';
      el.append(head, this.banner, this.list, this.empty);
      notifyMe(this, head);
    }

    state(s) {
      this.el.setAttribute('data-state', s);
      this.el.setAttribute('data-transport', this.mode);
      // Paused (a hidden page let go of its connection): offline, for now.
      this.status.textContent = this.ui.s[{ loading: 'connecting', paused: 'offline', stopped: 'offline' }[s] || s];
    }

    query(since, limit, pre = '') {
      const q = [];
      if (limit) q.push('limit=' + limit);
      if (this.topics) q.push('topics=' + this.topics);
      if (this.lang) q.push('lang=' + this.lang);
      if (since) q.push('since=' + since);
      if (this.pins === undefined) q.push('fields=' + FIELDS);
      return pre + q.join('&');
    }

    bump(id) {
      if (ID_RE.test(id || '') && idCmp(id, this.lastId) > 0) this.lastId = id;
    }

    async start() {
      this.state('loading');
      if (this.pins != null) {
        try {
          this.keys = new Map();
          for (const k of this.pins.split(/[\s,]+/).filter(Boolean)) {
            const raw = unb64(k);
            const kid = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', raw)).slice(0, 12)));
            this.keys.set(kid, await crypto.subtle.importKey('raw', raw, 'Ed25519', false, ['verify']));
          }
          if (!this.keys.size) throw new Error('no key');
        } catch (e) {
          return this.stop('data-verify-keys: ' + e.message);
        }
      }
      try {
        await this.reload();
      } catch (e) {
        console.warn('alert-ticker: cannot load alerts:', e.message);
        this.render();
      }
      this.connect();
    }

    async fetchAlerts(since, limit) {
      const r = await fetch(this.base + '/v1/alerts' + this.query(since, limit, '?'),
        { credentials: 'omit', cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const j = await r.json();
      if (!j || !Array.isArray(j.alerts)) throw new Error('no alerts');
      return j;
    }

    /** The state replaced by the newest alerts (start, gap). */
    async reload() {
      const live = (this.live = []);
      let j, rest;
      try {
        j = await this.fetchAlerts('', Math.min(200, Math.max(20, this.limit * 4)));
        rest = await this.verified(j.alerts.slice().reverse(), 0);
      } finally {
        if (this.live === live) this.live = null;
      }
      const old = this.seen;
      this.stories.clear();
      this.alias.clear();
      this.seen = new Set();
      this.loaded = true;
      // Oldest first, so updates meet their originals; then what came live meanwhile.
      this.take(rest.concat(live), 'rest', old);
      this.bump(j.last_id);
    }

    /** What came after lastId; a reload if too much. */
    async catchUp() {
      if (!this.lastId) return this.reload();
      const j = await this.fetchAlerts(this.lastId, 200);
      if (j.alerts.length >= 200) return this.reload();
      this.take(await this.verified(j.alerts.slice().reverse(), 0), 'rest');
      this.bump(j.last_id);
    }

    /** A live or replayed alert, verified first when keys are pinned; one
     * sent ahead is no resume point (PROTOCOL.md §4). */
    intake(a, via, ahead) {
      const go = (items) => {
        const keep = this.lastId;
        this.take(items, via);
        if (ahead) this.lastId = keep;
      };
      if (!this.keys) return go([a]);
      const live = !this.replaying;
      this.vq = this.vq.then(async () => go(await this.verified([a], live)));
    }

    /** The items that pass check() (all of them without keys). */
    async verified(items, live) {
      const ok = [];
      for (const a of items) {
        const why = this.keys && await this.check(a || {}, live);
        if (why) console.warn('alert-ticker: rejected alert', a && a.id, '-', why);
        else ok.push(a);
      }
      return ok;
    }

    /** Why an alert is refused (PROTOCOL.md, "Signed alerts"), or ''. */
    async check(a, live) {
      const { id, sig, ...signed } = a, at = Date.parse(a.published_at), m = ID_RE.exec(id) || [];
      if (typeof sig !== 'string' || typeof a.kid !== 'string') return 'unsigned';
      const key = this.keys.get(std(a.kid));
      if (!key) return 'unknown key ' + a.kid;
      if (!/^[\w-]{85}[AQgw]$/.test(sig) ||
        !await crypto.subtle.verify('Ed25519', key, unb64(sig), new TextEncoder().encode(canon(signed)))) return 'bad signature';
      if (!(Math.abs(m[1] - at) <= this.maxAge)) return 'stale: published_at is far from its id';
      if (live && !(Math.abs(Date.now() - at) <= this.maxAge)) return 'stale: published_at is far from now';
      const first = this.sigs.get(sig);
      if (first && first !== id) return 'replayed: it came as ' + first;
      this.sigs.set(sig, id);
      return '';
    }

    take(items, via, known) {
      const fresh = items.filter((a) => this.apply(a));
      this.render();
      for (const a of fresh) {
        if (!known || !known.has(a.id)) {
          this.el.dispatchEvent(new CustomEvent(P + ':alert', { bubbles: true, detail: { alert: a, via } }));
        }
      }
    }

    apply(a) {
      const id = a && typeof a === 'object' ? a.id : null;
      if (!ID_RE.test(id || '') || this.seen.has(id)) return false;
      this.seen.add(id);
      this.got.set(a, Date.now()); // when it came: bounds a flash's hold
      this.bump(id);
      if (this.live) this.live.push(a);
      const kind = a.kind || 'alert';
      const key = kind !== 'alert' && a.ref ? this.alias.get(a.ref) || a.ref : id;
      this.alias.set(id, key);
      if (kind === 'retraction') {
        this.gone.add(key);
        this.stories.delete(key);
      } else if (!this.gone.has(key)) {
        const cur = this.stories.get(key);
        if (!cur || idCmp(id, cur.id) > 0) this.stories.set(key, a);
      }
      this.prune();
      return true;
    }

    /** Bounds the bookkeeping of a page left open for days. */
    prune() {
      const cut = (c, max) => {
        if (c.size <= max) return;
        const it = c.keys();
        for (let n = c.size - max * 0.75; n > 0; n--) c.delete(it.next().value);
      };
      if (this.stories.size > 400) {
        [...this.stories].sort((x, y) => idCmp(x[1].id, y[1].id)).slice(0, 100).forEach(([k]) => this.stories.delete(k));
      }
      cut(this.seen, 4000);
      cut(this.alias, 4000);
      cut(this.gone, 1000);
      cut(this.sigs, 4000);
    }

    render() {
      const now = Date.now();
      let next = Infinity;
      for (const [k, a] of this.stories) {
        if (expired(a, now)) this.stories.delete(k);
        else if (a.expires_at) next = Math.min(next, Date.parse(a.expires_at));
      }
      const all = [...this.stories.values()].sort((x, y) => idCmp(y.id, x.id));
      // The banner: the newest flash for data-flash-hold seconds from its
      // publication (or arrival, if the reader's clock is behind), even before
      // later, less urgent alerts; else the newest breaking alert shown.
      const f = all.find((a) => a.urgency === 'flash');
      const until = f ? Math.min(Date.parse(f.published_at) || Infinity, this.got.get(f) || now) + this.hold : 0;
      if (until > now) next = Math.min(next, until);
      const top = until > now ? f : all.slice(0, this.limit).find(breaking);
      clearTimeout(this.expiryT);
      if (next < Infinity) this.expiryT = setTimeout(() => this.render(), Math.min(next - now + 20, 60000));

      if ((top && top.id) !== this.bannerId) {
        this.bannerId = top && top.id;
        // Politeness first: the change is announced with it.
        this.banner.setAttribute('aria-live', top && top.urgency === 'flash' ? 'assertive' : 'polite');
        this.banner.textContent = '';
        if (top) this.banner.append(this.card(top, 'div', 'card'));
      }

      const want = all.filter((a) => a !== top).slice(0, this.limit - (top ? 1 : 0));
      const ids = new Set(want.map((a) => a.id));
      for (const [id, li] of this.nodes) {
        if (!ids.has(id)) { li.remove(); this.nodes.delete(id); }
      }
      // Few moves: a moved node animates and is re-announced.
      let at = this.list.firstChild;
      for (const a of want) {
        let li = this.nodes.get(a.id);
        if (!li) this.nodes.set(a.id, (li = this.card(a, 'li', 'item')));
        if (li === at) at = at.nextSibling;
        else this.list.insertBefore(li, at);
      }
      this.empty.hidden = all.length > 0;
    }

    card(a, tag, cls) {
      const u = this.ui, s = u.s;
      const el = h(tag, cls, null, { 'data-id': a.id, 'data-urgency': a.urgency || 'bulletin', 'data-kind': a.kind || 'alert' });
      // The alert's text is in its language; the widget's words in the reader's.
      let own = null;
      if (LANG_RE.test(a.lang || '')) { el.setAttribute('lang', a.lang); own = { lang: u.lang }; }
      if (cls === 'card') el.append(h('strong', 'label', s.breaking, own));

      const meta = h('div', 'meta', null, own);
      if (a.kind === 'update') meta.append(h('span', 'tag', s.updated));
      const when = new Date(Date.parse(a.published_at));
      if (!isNaN(when)) {
        const today = when.toDateString() === new Date().toDateString();
        meta.append(h('time', 'time', (today ? u.hm : u.day).format(when), { datetime: when.toISOString(), title: u.full.format(when) }));
      }
      if (meta.firstChild) el.append(meta);

      const href = safeUrl(a.url);
      const hl = h('p', 'headline', href ? null : a.headline || '', { dir: 'auto' });
      if (href) hl.append(h('a', 'link', a.headline || '', { href }));
      el.append(hl);
      if (a.summary) el.append(h('p', 'summary', a.summary, { dir: 'auto' }));

      const img = a.image && typeof a.image === 'object' ? a.image : null;
      const r = (img && img.renditions) || {};
      const src = img && (safeUrl(r.sm) || safeUrl(r.xs) || safeUrl(img.url));
      if (src) {
        const fig = h('figure', 'figure');
        // Renditions: the browser picks one for the width the image is laid out at.
        const set = [], at = { loading: 'lazy', decoding: 'async', referrerpolicy: 'no-referrer', alt: img.caption || '' };
        for (const k in WIDTHS) {
          const v = safeUrl(r[k]);
          if (v && !v.endsWith(',')) set.push(v + ' ' + WIDTHS[k] + 'w');
        }
        if (set.length) Object.assign(at, { sizes: 'auto, 7em', srcset: set.join(', ') });
        at.src = src; // last, once the rest is known
        const i = h('img', '', null, at);
        i.addEventListener('error', () => fig.remove());
        fig.append(i);
        if (img.caption || img.credit) {
          const cap = h('figcaption', '', img.caption || '', { dir: 'auto' });
          if (img.credit) cap.append(img.caption ? ' ' : '', h('span', 'credit', '(' + img.credit + ')'));
          fig.append(cap);
        }
        el.append(fig);
      }

      const by = [a.byline, a.credit].filter((t) => typeof t === 'string' && t).join(' · ');
      if (by) el.append(h('p', 'byline', by, { dir: 'auto' }));
      return el;
    }

    connect() {
      clearTimeout(this.retryT);
      if (this.stopped || this.paused || this.ws || this.es) return;
      if (this.mode === 'sse' || typeof WebSocket !== 'function') {
        this.mode = 'sse';
        return this.sse();
      }
      this.state(this.attempt || this.fails ? 'reconnecting' : 'connecting');
      const url = this.base.replace(/^http/, 'ws') + '/v1/ws' + this.query(this.shedFrom || this.lastId, 0, '?');
      let ws;
      try {
        ws = new WebSocket(url, 'alert.v1');
      } catch (e) {
        return this.closed(1006);
      }
      this.ws = ws;
      this.replaying = !!this.lastId; // since= asks for a replay first
      this.acks = [];
      this.hello = 0;
      this.openedAt = Date.now();
      ws.onmessage = (e) => { if (this.ws === ws) this.frame(e.data); };
      ws.onclose = (e) => { if (this.ws === ws) this.closed(e.code); };
    }

    frame(data) {
      this.awaiting = false;
      let f;
      try { f = JSON.parse(data); } catch (e) { return; }
      if (!f || typeof f !== 'object') return;
      if (f.type === 'hello') {
        if (f.v !== 1) return this.stop('the server speaks protocol v' + f.v);
        this.hello = Date.now();
        this.fails = 0;
        this.heartbeat(f.heartbeat);
        this.state('live');
        if (!this.loaded) this.reload().catch(() => {});
      } else if (f.type === 'alert') {
        this.intake(f.alert, 'ws', f.ahead);
        this.ack(f.alert.id);
      } else if (f.type === 'shed') {
        this.shedFrom = this.shedFrom || this.lastId; // fetch what was shed (§2)
        this.catchUp().then(() => { this.shedFrom = ''; }, () => {});
      } else if (f.type === 'replayed') {
        this.replaying = false;
        this.bump(f.last_id);
      } else if (f.type === 'gap') {
        this.replaying = false;
        this.reload().catch(() => {});
      } else if (f.type === 'error') {
        console.warn('alert-ticker: server error:', f.code, f.message);
      }
    }

    /** Acks what this socket brought once shown, the page visible; a frame per 300 ms at most (PROTOCOL.md §14). */
    ack(id) {
      if (id) this.acks.push(id);
      this.ackT = this.ackT || setTimeout(() => {
        this.ackT = 0;
        if (document.hidden || !this.ws) return;
        const ids = this.acks.filter((i) => this.nodes.has(i) || i === this.bannerId);
        this.acks = [];
        while (ids.length) this.ws.send(JSON.stringify({ type: 'ack', id: ids.splice(0, 32) }));
      }, 300);
    }

    /** Browsers cannot see pings: ask for a pong every heartbeat, drop the
     * connection when nothing came back within one (PROTOCOL.md §5). */
    heartbeat(sec) {
      const ms = Math.min(300, Math.max(5, +sec || 25)) * 1000;
      clearInterval(this.pingT);
      this.pingT = setInterval(() => {
        if (!this.ws) return;
        if (this.awaiting) return this.closed(1006);
        this.awaiting = true;
        try { this.ws.send('{"type":"ping"}'); } catch (e) { /* closing */ }
      }, ms);
    }

    drop() {
      clearInterval(this.pingT);
      this.awaiting = false;
      const ws = this.ws, es = this.es;
      this.ws = this.es = null;
      if (ws) ws.close(1000);
      if (es) es.close();
    }

    /** When and how to come back (PROTOCOL.md §7, §8). */
    closed(code) {
      const healthy = this.hello && Date.now() - this.openedAt > HEALTHY_MS;
      const greeted = this.hello;
      this.drop();
      if (this.stopped || this.paused) return;
      if (code === 1008 || code === 4003) return this.stop('closed by the server with ' + code);
      const soft = code === 1001 || code === 4001 || code === 4029;
      const busy = code === 4029 || code === 4030 || code === 4031;
      if (healthy && !busy) this.attempt = 0;
      if (!greeted && !soft && ++this.fails >= 2) return this.probe();
      let ms;
      if (code === 1001) ms = rand(5000);
      else if (code === 4001 && this.prevCode !== 4001) ms = rand(1000);
      else ms = this.backoff();
      if (busy) ms = Math.max(5000, ms);
      this.prevCode = code;
      this.retry(ms);
    }

    backoff() {
      return rand(Math.min(CAP_MS, BASE_MS * 2 ** Math.min(this.attempt++, 16)));
    }

    retry(ms) {
      this.state('reconnecting');
      clearTimeout(this.retryT);
      this.retryT = setTimeout(() => this.connect(), ms);
    }

    /** WebSockets failed twice: SSE if HTTPS gets through, else retry. */
    async probe() {
      this.state('reconnecting');
      try {
        await this.catchUp();
      } catch (e) {
        this.fails = 1;
        return this.retry(this.backoff());
      }
      this.mode = 'sse';
      this.connect();
    }

    sse() {
      if (typeof EventSource !== 'function') return this.stop('neither WebSocket nor EventSource');
      this.state(this.attempt ? 'reconnecting' : 'connecting');
      const es = new EventSource(this.base + '/v1/sse' + this.query(this.lastId, 0, '?'));
      const on = (type, fn) => es.addEventListener(type, (e) => {
        if (this.es !== es) return;
        let f;
        try { f = JSON.parse(e.data); } catch (x) { return; }
        if (f && typeof f === 'object') fn(f);
      });
      this.es = es;
      this.hello = 0;
      on('hello', () => {
        this.replaying = !!this.lastId;
        this.hello = this.openedAt = Date.now();
        this.state('live');
        if (!this.loaded) this.reload().catch(() => {});
      });
      on('alert', (a) => this.intake(a, 'sse'));
      on('replayed', (f) => { this.replaying = false; this.bump(f.last_id); });
      on('gap', () => { this.replaying = false; this.reload().catch(() => {}); });
      es.onerror = () => {
        if (this.es !== es) return;
        // CONNECTING: the browser retries with Last-Event-ID.
        if (es.readyState !== EventSource.CLOSED) return this.state('reconnecting');
        if (this.hello && Date.now() - this.openedAt > HEALTHY_MS) this.attempt = 0;
        this.drop();
        // Refused (draining?): try WebSockets again first.
        this.mode = 'ws';
        this.fails = 0;
        this.retry(this.backoff());
      };
    }

    visibility() {
      clearTimeout(this.hiddenT);
      if (document.hidden) {
        this.hiddenT = setTimeout(() => this.pause(), HIDDEN_MS);
      } else if (this.paused) {
        this.resume();
      } else {
        this.ack();
      }
    }

    pause() {
      if (this.stopped) return;
      this.paused = true;
      clearTimeout(this.retryT);
      this.drop();
      this.state('paused');
    }

    async resume() {
      this.paused = false;
      this.mode = 'ws'; // the network may have changed
      this.attempt = this.fails = 0;
      this.state('reconnecting');
      try {
        await this.catchUp();
      } catch (e) { /* the replay catches up */ }
      this.connect();
    }

    stop(why) {
      if (why) console.warn('alert-ticker: stopped:', why);
      this.stopped = true;
      clearTimeout(this.retryT);
      clearTimeout(this.hiddenT);
      clearTimeout(this.expiryT);
      this.drop();
      this.state('stopped');
    }

    destroy() {
      this.stop();
      document.removeEventListener('visibilitychange', this.onVis);
    }
  }

  // ---- push: "notify me" (data-push), from ticker-push.js where the Push API is
  const notifyMe = (t, head) => {
    const gw = safeUrl(t.el.dataset.push);
    if (gw && window.PushManager && window.Notification && navigator.serviceWorker) {
      import(ORIGIN + '/ticker-push.js').then((m) => m.control(t, head, gw, tableLang(t.ui.lang)))
        .catch((e) => console.warn('alert-ticker: data-push:', e.message));
    }
  };

  const tickers = new Map(); // element -> Ticker

  const scan = (root) => {
    injectStyle();
    const r = root && root.querySelectorAll ? root : document;
    const els = [...r.querySelectorAll('[data-alert-ticker]')];
    if (r.matches && r.matches('[data-alert-ticker]')) els.unshift(r);
    for (const el of els) if (!tickers.has(el)) tickers.set(el, new Ticker(el));
    return els.length;
  };

  window.AlertTicker = Object.freeze({ version: VERSION, scan, safeUrl });

  const watch = () => {
    scan(document);
    new MutationObserver((records) => {
      for (const rec of records) {
        for (const n of rec.addedNodes) if (n.nodeType === 1) scan(n);
      }
      for (const [el, t] of tickers) {
        if (!el.isConnected) { t.destroy(); tickers.delete(el); }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
  else watch();
})();
