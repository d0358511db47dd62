/*!
 * bespoke.js: browser SDK for Bespoke event ingestion (Segment HTTP Tracking API compatible).
 * Plain ES2017, no dependencies. See README.md.
 */
(function (root) {
  'use strict';

  var VERSION = '0.1.0';
  var QUEUE = 'bespoke.queue'; // localStorage: events not yet acknowledged
  var ANON = 'bespoke.anonymousId';
  var USER = 'bespoke.userId';
  var OPTOUT = 'bespoke.optedOut';
  var EVENT_MAX = 32768; // CONTRACT §2: 32 KiB per event
  var BATCH_MAX = 480000; // stays under the 512 KiB request limit
  var BEACON_MAX = 64000; // sendBeacon / keepalive bodies: at most 64 KB each

  var defaults = {
    writeKey: '',
    endpoint: '', // '' posts to the page's own origin
    flushAt: 10,
    flushInterval: 5000,
    maxRetries: 10,
    retryBase: 1000, // full-jitter backoff: random(0, min(retryCap, retryBase * 2^attempt)) ms
    retryCap: 30000,
    maxQueue: 1000, // events kept in localStorage; the oldest are dropped (and counted) beyond it
    optOutEndpoint: null, // base URL for /v1/customers/{id}/opt-out, or true for `endpoint`
    context: null, // merged into every event's context
    onError: null
  };

  var cfg = Object.assign({}, defaults);
  var queue = []; // events this page will send, oldest first
  var done = new Set(); // messageIds this page delivered or dropped (not to be merged back from storage)
  var inflight = new Set();
  var beaconed = new Set();
  var stats = { sent: 0, rejected: 0, dropped: 0, retries: 0 };
  var sending = null;
  var timer = 0;
  var paused = false;
  var started = false;
  var storageWarned = false;

  // ---- persistence -------------------------------------------------------

  // ls(k) reads, ls(k, v) writes, ls(k, null) removes; null when storage is unusable.
  function ls(k, v) {
    try {
      var s = root.localStorage;
      if (v === undefined) return s.getItem(k);
      if (v === null) s.removeItem(k);
      else s.setItem(k, v);
      return true;
    } catch (e) {
      return null;
    }
  }

  function cookie(k, v) {
    try {
      var d = root.document;
      if (v !== undefined) {
        d.cookie = k + '=' + encodeURIComponent(v || '') + ';path=/;max-age=' + (v ? 31536000 : 0) + ';samesite=lax';
        return null;
      }
      var m = d.cookie.match(new RegExp('(?:^|; )' + k + '=([^;]*)'));
      return m ? decodeURIComponent(m[1]) : null;
    } catch (e) {
      return null;
    }
  }

  // Ids live in localStorage with a first-party cookie as fallback.
  function getId(k) {
    return ls(k) || cookie(k.replace('.', '_'));
  }

  function setId(k, v) {
    ls(k, v);
    cookie(k.replace('.', '_'), v);
  }

  function parse(raw) {
    try {
      var a = JSON.parse(raw);
      return Array.isArray(a) ? a.filter(function (e) { return e && e.messageId; }) : [];
    } catch (e) {
      return [];
    }
  }

  // sync writes the queue to localStorage, keeping events other tabs stored there
  // (adopt: also take them over, as a fresh page does with the previous page's events).
  function sync(adopt) {
    var all = queue.slice();
    var ids = new Set(all.map(id));
    parse(ls(QUEUE)).forEach(function (e) {
      if (!ids.has(e.messageId) && !done.has(e.messageId)) {
        ids.add(e.messageId);
        all.push(e);
        if (adopt) queue.push(e);
      }
    });
    if (all.length > cfg.maxQueue) {
      all.sort(function (a, b) { return a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0; });
      var cut = all.splice(0, all.length - cfg.maxQueue).map(id);
      var gone = new Set(cut);
      cut.forEach(function (m) { done.add(m); });
      queue = queue.filter(function (e) { return !gone.has(e.messageId); });
      stats.dropped += cut.length;
      fail('queue_overflow', 'queue full (' + cfg.maxQueue + ' events): dropped the ' + cut.length +
        ' oldest, ' + stats.dropped + ' dropped so far', cut);
    }
    if (done.size > 20000) done.clear();
    var ok = all.length ? ls(QUEUE, JSON.stringify(all)) : ls(QUEUE, null);
    if (!ok && !storageWarned) {
      storageWarned = true;
      fail('storage', 'localStorage is not writable: queued events will not survive a page reload', []);
    }
  }

  // ---- events ------------------------------------------------------------

  function id(e) {
    return e.messageId;
  }

  function uuid() {
    var c = root.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function anonymousId() {
    var a = getId(ANON);
    if (!a) a = uuid();
    if (ls(ANON) !== a) setId(ANON, a);
    return a;
  }

  function bytes(s) {
    return new Blob([s]).size;
  }

  function obj(x) {
    return x && typeof x === 'object' && !Array.isArray(x) ? x : {};
  }

  function page() {
    var l = root.location || {};
    var d = root.document || {};
    return { path: l.pathname, url: l.href, search: l.search, title: d.title, referrer: d.referrer };
  }

  function build(type, fields) {
    var n = root.navigator || {};
    var e = Object.assign({
      type: type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId: anonymousId(),
      userId: getId(USER) || undefined
    }, fields);
    e.context = Object.assign({
      library: { name: 'bespoke.js', version: VERSION },
      page: page(),
      userAgent: n.userAgent,
      locale: n.language
    }, cfg.context);
    return e;
  }

  function enqueue(e) {
    var n;
    try {
      n = bytes(JSON.stringify(e));
    } catch (x) {
      return fail('invalid', 'cannot serialise event "' + (e.event || e.type) + '": ' + x.message, [e.messageId]);
    }
    if (n > EVENT_MAX) {
      return fail('event_too_large', 'event "' + (e.event || e.type) + '" is ' + n + ' bytes, above the 32 KiB limit', [e.messageId]);
    }
    queue.push(e);
    sync();
    if (started && !paused) {
      if (pending().length >= cfg.flushAt) flush(true);
      else if (!timer) timer = setTimeout(flush, cfg.flushInterval, true);
    }
    return e.messageId;
  }

  function fail(type, message, ids, status) {
    var err = new Error(message);
    err.type = type;
    err.messageIds = ids || [];
    err.status = status;
    try {
      if (cfg.onError) cfg.onError(err);
      else if (root.console) root.console.warn('bespoke: ' + message);
    } catch (x) { /* a throwing hook must not break the page */ }
  }

  // ---- delivery ----------------------------------------------------------

  function pending() {
    return queue.filter(function (e) { return !inflight.has(e.messageId); });
  }

  function url(path) {
    return cfg.endpoint + path;
  }

  function headers() {
    return { 'Content-Type': 'application/json', Authorization: 'Basic ' + btoa(cfg.writeKey + ':') };
  }

  function body(events, withKey) {
    var b = { batch: events, sentAt: new Date().toISOString() };
    if (withKey) b.writeKey = cfg.writeKey;
    return JSON.stringify(b);
  }

  // chunks splits events, oldest first, into groups whose request body stays within max bytes.
  function chunks(events, max) {
    var out = [];
    var cur = [];
    var over = bytes(body([], true));
    var n = over;
    events.forEach(function (e) {
      var s = bytes(JSON.stringify(e)) + 1;
      if (cur.length && n + s > max) {
        out.push(cur);
        cur = [];
        n = over;
      }
      cur.push(e);
      n += s;
    });
    if (cur.length) out.push(cur);
    return out;
  }

  function sleep(ms) {
    return new Promise(function (r) { setTimeout(r, ms); });
  }

  function retryAfter(res) {
    var h = res && res.headers.get('Retry-After');
    if (!h) return 0;
    var ms = isNaN(+h) ? Date.parse(h) - Date.now() : +h * 1000;
    return ms > 0 ? Math.min(ms, 600000) : 0;
  }

  function remove(events) {
    var gone = new Set(events.map(id));
    gone.forEach(function (m) { done.add(m); });
    queue = queue.filter(function (e) { return !gone.has(e.messageId); });
    sync();
  }

  // deliver sends one batch, retrying network errors, 408, 429 and 5xx; resolves false
  // when the retries are exhausted (the events stay queued).
  async function deliver(batch) {
    var ids = batch.map(id);
    ids.forEach(function (m) { inflight.add(m); });
    try {
      for (var attempt = 0; ; attempt++) {
        var res = null;
        var why;
        try {
          var b = body(batch);
          res = await root.fetch(url('/v1/batch'), {
            method: 'POST', headers: headers(), body: b, credentials: 'omit', keepalive: bytes(b) < BEACON_MAX
          });
          why = 'HTTP ' + res.status;
        } catch (x) {
          why = x.message;
        }
        var st = res ? res.status : 0;
        if (res && res.ok) {
          stats.sent += batch.length;
          remove(batch);
          return true;
        }
        if (st >= 400 && st < 500 && st !== 408 && st !== 429) {
          var text = '';
          try { text = await res.text(); } catch (x) { /* keep the status alone */ }
          stats.rejected += batch.length;
          remove(batch);
          fail('rejected', 'collector refused a batch of ' + batch.length + ' events with HTTP ' + st + ': ' + text.slice(0, 500), ids, st);
          return true;
        }
        if (attempt >= cfg.maxRetries) {
          paused = true;
          fail('retries_exhausted', 'gave up sending ' + batch.length + ' events after ' + attempt +
            ' retries (' + why + '); they stay queued until the next page load, flush() or going online', ids, st);
          return false;
        }
        stats.retries++;
        var jitter = Math.random() * Math.min(cfg.retryCap, cfg.retryBase * Math.pow(2, attempt));
        await sleep(Math.max(retryAfter(res), jitter));
      }
    } finally {
      ids.forEach(function (m) { inflight.delete(m); });
    }
  }

  // flush sends every queued event; auto flushes (batch full, timer) do nothing while paused
  // after exhausted retries, an explicit flush() resumes.
  function flush(auto) {
    if (auto !== true) paused = false;
    clearTimeout(timer);
    timer = 0;
    // Only start a send when there is something to send: an async function with nothing
    // to await finishes before its promise is assigned, which would leave `sending` set forever.
    if (!sending && started && !paused && pending().length > 0) {
      sending = (async function () {
        try {
          var c;
          while (!paused && (c = chunks(pending(), BATCH_MAX)[0])) {
            if (!(await deliver(c))) break;
          }
        } finally {
          sending = null;
        }
      })();
    }
    return sending || Promise.resolve();
  }

  // hide hands the queue to the browser as the page goes away. The events stay in the
  // queue: if the beacon is lost the next page load sends them again, and the collector
  // stores a messageId once.
  function hide() {
    if (!started) return;
    var rest = queue.filter(function (e) { return !beaconed.has(e.messageId); });
    var n = root.navigator;
    chunks(rest, BEACON_MAX).every(function (c) {
      var b = body(c, true);
      var ok = false;
      try {
        if (n.sendBeacon) ok = n.sendBeacon(url('/v1/batch'), new Blob([b], { type: 'application/json' }));
        else {
          root.fetch(url('/v1/batch'), { method: 'POST', headers: headers(), body: b, credentials: 'omit', keepalive: true })
            .catch(function () {});
          ok = true;
        }
      } catch (x) { /* quota or unsupported: the rest waits for the next page */ }
      if (ok) c.forEach(function (e) { beaconed.add(e.messageId); });
      return ok;
    });
  }

  // ---- public API --------------------------------------------------------

  function init(options) {
    cfg = Object.assign({}, defaults, options);
    if (!cfg.writeKey) throw new Error('bespoke.init: writeKey is required');
    cfg.endpoint = String(cfg.endpoint || '').replace(/\/+$/, '');
    sync(true);
    if (!started) {
      started = true;
      root.addEventListener('pagehide', hide);
      root.addEventListener('online', function () { flush(); });
      // Another tab wrote the queue from a view of storage that lacked some of ours
      // (tabs in other processes see each other's writes late): write ours back.
      root.addEventListener('storage', function (e) {
        if (e.key !== QUEUE || !queue.length) return;
        var there = new Set(parse(e.newValue).map(id));
        if (queue.some(function (q) { return !there.has(q.messageId); })) sync();
      });
      if (root.document) {
        root.document.addEventListener('visibilitychange', function () {
          if (root.document.visibilityState === 'hidden') hide();
        });
      }
    }
    paused = false;
    if (queue.length) flush(true);
    return api;
  }

  function track(event, properties) {
    if (typeof event !== 'string' || !event) return fail('invalid', 'track needs an event name', []);
    return enqueue(build('track', { event: event, properties: obj(properties) }));
  }

  function identify(userId, traits) {
    if (userId && typeof userId === 'object') {
      traits = userId;
      userId = null;
    }
    if (userId != null && userId !== '') setId(USER, String(userId));
    return enqueue(build('identify', { traits: obj(traits) }));
  }

  function pageView(name, properties) {
    var p = Object.assign(page(), obj(properties));
    if (name) p.name = name;
    return enqueue(build('page', { name: name || undefined, properties: p }));
  }

  function opt(out) {
    var verb = out ? 'Out' : 'In';
    track('Personalization Opted ' + verb);
    if (out) ls(OPTOUT, '1');
    else ls(OPTOUT, null);
    flush(true);
    var user = getId(USER);
    var base = cfg.optOutEndpoint === true ? cfg.endpoint : cfg.optOutEndpoint;
    if (!user || base == null || base === false) return Promise.resolve(false);
    return root.fetch(String(base).replace(/\/+$/, '') + '/v1/customers/' + encodeURIComponent(user) + '/opt-out', {
      method: out ? 'POST' : 'DELETE', headers: headers(), credentials: 'omit', keepalive: true
    }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return true;
    }).catch(function (x) {
      fail('opt_out', 'cannot record opt-' + verb.toLowerCase() + ' of customer ' + user + ': ' + x.message, [], 0);
      return false;
    });
  }

  function reset() {
    setId(USER, null);
    setId(ANON, null);
    ls(OPTOUT, null);
  }

  var api = {
    VERSION: VERSION,
    init: init,
    track: track,
    identify: identify,
    page: pageView,
    flush: flush,
    optOut: function () { return opt(true); },
    optIn: function () { return opt(false); },
    optedOut: function () { return ls(OPTOUT) === '1'; },
    reset: reset,
    user: function () { return { userId: getId(USER), anonymousId: anonymousId() }; },
    stats: function () { return Object.assign({ queued: queue.length }, stats); }
  };

  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.bespoke = api;
})(typeof self !== 'undefined' ? self : this);
