/* dashboard.js: business metrics per arm over time (GET /v1/admin/metrics per day), ingestion
 * rate and lag and latency (polling /metrics), model versions (GET /v1/admin/models). */
(function () {
  'use strict';
  var $ = function (s) { return document.querySelector(s); };
  var DAY = 86400000;
  var ARMS = { control: '#d9673c', personalized: '#2f5d50' };
  var token = '';
  var samples = []; // polled /metrics snapshots {t, m}
  var autoLatest = false;

  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function pct(v) { return (v * 100).toFixed(1) + '%'; }
  function f2(v) { return (+v).toFixed(2); }
  function dayStr(t) { return new Date(t).toISOString().slice(0, 10); }
  function short(t) { return new Date(t).toISOString().slice(5, 10); }

  async function admin(path) {
    var r = await fetch(path, { headers: { Authorization: 'Bearer ' + token } });
    if (r.status === 401 || r.status === 403) {
      var b = await r.json().catch(function () { return {}; });
      needToken(b.error || 'HTTP ' + r.status);
      throw new Error('unauthorized');
    }
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status + ' ' + (await r.text()).slice(0, 200));
    return r.json();
  }

  function needToken(err) {
    $('#auth').hidden = false;
    $('#auth-err').textContent = err || '';
  }

  // ---- business metrics per day --------------------------------------------

  function endDay() {
    var v = $('#end').value;
    return v ? Date.parse(v + 'T00:00:00Z') + DAY : Math.floor(Date.now() / DAY) * DAY + DAY;
  }

  function metrics(from, to) {
    return admin('/v1/admin/metrics?from=' + new Date(from).toISOString().replace('.000', '') + '&to=' + new Date(to).toISOString().replace('.000', ''));
  }

  function searchesOf(rep) { return (rep.arms || []).reduce(function (s, a) { return s + (a.searches || 0); }, 0); }

  async function loadAB() {
    var n = +$('#days').value, to = endDay(), from = to - n * DAY;
    $('#range').textContent = 'loading ' + dayStr(from) + ' → ' + dayStr(to - DAY) + '…';
    var days = [];
    for (var t = from; t < to; t += DAY) days.push(t);
    // One request: the report carries every day ("daily"), computed once per day of
    // lake files and cached by the server.
    var whole = await metrics(from, to);
    var byDay = {};
    (whole.daily || []).forEach(function (d) { byDay[d.day] = d; });
    var per = days.map(function (d) { return byDay[dayStr(d)] || null; });
    $('#range').textContent = dayStr(from) + ' → ' + dayStr(to - DAY) +
      (whole.days_cached ? ' (' + whole.days_cached + ' of ' + (whole.days_cached + whole.days_computed) + ' days from the cache)' : '');
    abTable(whole);
    interleavingPanel(whole, days, per);
    var ser = function (key, scale) {
      return Object.keys(ARMS).map(function (arm) {
        return {
          name: arm, color: ARMS[arm], points: days.map(function (d, i) {
            var a = per[i] && !per[i].error && (per[i].arms || []).find(function (x) { return x.arm === arm; });
            if (!a || !a.searches) return [d, null];
            if (!key) return [d, a.searches];
            var e = a[key];
            return [d, e.value * scale, e.ci95[0] * scale, e.ci95[1] * scale];
          })
        };
      });
    };
    var pcty = function (v) { return v.toFixed(v < 10 ? 1 : 0) + '%'; };
    chart.line($('#c-ctr'), { series: ser('click_through_rate', 100), xfmt: short, yfmt: pcty, yMin: 0 });
    chart.line($('#c-pos'), { series: ser('mean_position_clicked', 1), xfmt: short, yfmt: f2, yMin: 0 });
    chart.line($('#c-rep'), { series: ser('repeated_search_rate', 100), xfmt: short, yfmt: pcty, yMin: 0 });
    chart.line($('#c-ret'), { series: ser('size_return_rate', 100), xfmt: short, yfmt: pcty, yMin: 0 });
    chart.line($('#c-conv'), { series: ser('conversion_rate', 100), xfmt: short, yfmt: pcty, yMin: 0 });
    chart.bars($('#c-vol'), { labels: days.map(short), series: ser(null, 1).map(function (s) {
      return { name: s.name, color: s.color, values: s.points.map(function (p) { return p[1]; }) };
    }), yfmt: function (v) { return Math.round(v); } });
    return searchesOf(whole);
  }

  function abTable(rep) {
    var arms = rep.arms || [];
    if (!arms.length || !searchesOf(rep)) {
      $('#ab-table').innerHTML = '<p class="muted">No searches in this window. Use “Jump to latest data”, or play a simulated store: <code>bespoke simulate --target …</code>.</p>';
      return;
    }
    var rows = [['click_through_rate', 'click-through rate', pct], ['mean_position_clicked', 'mean position of clicked item', f2],
      ['median_position_clicked', 'median position of clicked item', f2],
      ['mean_position_purchased', 'mean position of purchased item', f2], ['median_position_purchased', 'median position of purchased item', f2],
      ['repeated_search_rate', 'repeated-search rate', pct],
      ['conversion_rate', 'conversion', pct], ['size_return_rate', 'size-related return rate', pct]];
    var ch = {};
    (rep.changes || []).forEach(function (c) { ch[c.metric] = c; });
    var h = '<table class="tbl" id="ab"><thead><tr><th>metric</th>' + arms.map(function (a) {
      return '<th><i style="display:inline-block;width:9px;height:9px;border-radius:2px;background:' + (ARMS[a.arm] || '#888') + '"></i> ' + esc(a.arm) +
        ' <span class="muted">(' + a.customers + ' customers, ' + a.searches + ' searches)</span></th>';
    }).join('') + '<th>change</th><th>95% CI of the change</th></tr></thead><tbody>';
    rows.forEach(function (r) {
      var c = ch[r[0]];
      h += '<tr><td>' + r[1] + '</td>' + arms.map(function (a) {
        var e = a.searches ? a[r[0]] : null;
        return '<td>' + (e ? r[2](e.value) + ' <span class="muted small">[' + r[2](e.ci95[0]) + ', ' + r[2](e.ci95[1]) + ']</span>' : '') + '</td>';
      }).join('') + '<td>' + (c ? (c.relative >= 0 ? '+' : '') + (c.relative * 100).toFixed(1) + '%' : '–') + '</td><td>' +
        (c ? '[' + c.ci95[0].toFixed(4) + ', ' + c.ci95[1].toFixed(4) + ']' : '–') + '</td></tr>';
    });
    $('#ab-table').innerHTML = h + '</tbody></table>';
  }

  // interleavingPanel shows the team-draft interleaving preference: wins, ties and losses
  // of the personalized ranker's team, the preference with its CI, and its daily course.
  function interleavingPanel(rep, days, per) {
    var in_ = rep.interleaving;
    if (!in_) {
      $('#il-table').innerHTML = '<p class="muted">No interleaved traffic in this window (the split sends none to interleaving).</p>';
      $('#c-il').innerHTML = '';
      return;
    }
    var sgn = function (v) { return (v >= 0 ? '+' : '') + v.toFixed(3); };
    $('#il-table').innerHTML = '<table class="tbl" id="il"><thead><tr><th>lists</th><th>with clicks</th><th>personalized wins</th><th>ties</th>' +
      '<th>control wins</th><th>preference</th><th>95% CI</th><th>sign test p</th></tr></thead><tbody><tr><td>' + in_.lists + '</td><td>' +
      in_.lists_with_clicks + '</td><td>' + in_.wins + '</td><td>' + in_.ties + '</td><td>' + in_.losses + '</td><td>' + sgn(in_.preference.value) +
      '</td><td>[' + sgn(in_.preference.ci95[0]) + ', ' + sgn(in_.preference.ci95[1]) + ']</td><td>' + in_.sign_test_p.toPrecision(2) + '</td></tr></tbody></table>';
    chart.line($('#c-il'), { xfmt: short, yfmt: function (v) { return v.toFixed(2); }, series: [{
      name: 'preference for personalized', color: ARMS.personalized, points: days.map(function (d, i) {
        var x = per[i] && per[i].interleaving;
        if (!x || !x.lists_with_clicks) return [d, null];
        return [d, x.preference.value, x.preference.ci95[0], x.preference.ci95[1]];
      })
    }] });
  }

  // latest: walk back from today in 30-day, then 5-day, then 1-day windows to the newest
  // day with searches (a simulated store lives in its own dates), and show the days up to it.
  async function latest() {
    $('#range').textContent = 'looking for the newest data…';
    var to = Math.floor(Date.now() / DAY) * DAY + DAY, found = false;
    for (var k = 0; k < 12 && !found; k++) {
      if (searchesOf(await metrics(to - 30 * DAY, to))) found = true;
      else to -= 30 * DAY;
    }
    if (!found) {
      $('#range').textContent = 'no searches in the lake in the last year';
      return;
    }
    var floor = to - 30 * DAY;
    for (var step of [5 * DAY, DAY]) {
      while (to - step >= floor && !searchesOf(await metrics(to - step, to))) to -= step;
      floor = to - step;
    }
    $('#end').value = dayStr(to - DAY);
    return loadAB();
  }

  // ---- models ----------------------------------------------------------------

  async function loadModels() {
    var m = await admin('/v1/admin/models');
    var list = (m.models || []).slice().sort(function (a, b) { return a.trained_at < b.trained_at ? -1 : 1; });
    if (!list.length) {
      $('#models').innerHTML = '<p class="muted">No model published yet: serving <code>' + esc(m.active || 'default') +
        '</code>. Train with <code>POST /v1/admin/train</code> or <code>bespoke train</code>.</p>';
      $('#c-models').innerHTML = '';
      return;
    }
    chart.bars($('#c-models'), {
      labels: list.map(function (x) { return x.version.slice(-12); }), yfmt: f2, series: [
        { name: 'NDCG@10', color: '#2f5d50', values: list.map(function (x) { return x['ndcg@10']; }) },
        { name: 'MRR', color: '#86a6d6', values: list.map(function (x) { return x.mrr; }) }]
    });
    $('#models').innerHTML = '<table class="tbl" id="models-table"><thead><tr><th>version</th><th>trained</th><th>NDCG@10</th><th>MRR</th><th>published</th><th></th></tr></thead><tbody>' +
      list.slice().reverse().map(function (x) {
        return '<tr' + (x.active ? ' class="active"' : '') + '><td><code>' + esc(x.version) + '</code></td><td>' + esc((x.trained_at || '').replace('T', ' ').slice(0, 19)) +
          '</td><td>' + x['ndcg@10'].toFixed(4) + '</td><td>' + x.mrr.toFixed(4) + '</td><td>' + esc((x.published_at || '').replace('T', ' ').slice(0, 19)) +
          '</td><td>' + (x.active ? 'active' : '') + '</td></tr>';
      }).join('') + '</tbody></table>';
  }

  // ---- /metrics polling ---------------------------------------------------------

  function parseProm(text) {
    var out = [];
    text.split('\n').forEach(function (l) {
      if (!l || l[0] === '#') return;
      var m = l.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
      if (!m) return;
      var labels = {};
      (m[3] || '').replace(/(\w+)="((?:[^"\\]|\\.)*)"/g, function (_, k, v) { labels[k] = v; return ''; });
      out.push({ name: m[1], labels: labels, value: parseFloat(m[4]) });
    });
    return out;
  }

  function sum(m, name, where) {
    return m.filter(function (x) {
      return x.name === name && Object.keys(where || {}).every(function (k) { return x.labels[k] === where[k]; });
    }).reduce(function (s, x) { return s + x.value; }, 0);
  }

  function buckets(m, endpoint) {
    return m.filter(function (x) { return x.name === 'bespoke_serve_latency_seconds_bucket' && x.labels.endpoint === endpoint; })
      .map(function (x) { return { le: x.labels.le === '+Inf' ? Infinity : parseFloat(x.labels.le), n: x.value }; })
      .sort(function (a, b) { return a.le - b.le; });
  }

  // quantile of a cumulative histogram (linear within a bucket, as Prometheus' histogram_quantile)
  function quantile(q, bs) {
    if (!bs.length) return null;
    var total = bs[bs.length - 1].n;
    if (!(total > 0)) return null;
    var rank = q * total, prevLe = 0, prevN = 0;
    for (var i = 0; i < bs.length; i++) {
      if (bs[i].n >= rank) {
        if (bs[i].le === Infinity) return prevLe;
        return prevLe + (bs[i].le - prevLe) * (rank - prevN) / Math.max(1e-9, bs[i].n - prevN);
      }
      prevLe = bs[i].le;
      prevN = bs[i].n;
    }
    return prevLe;
  }

  async function poll() {
    var text;
    try { text = await (await fetch('/metrics')).text(); } catch (e) { return; }
    samples.push({ t: Date.now(), m: parseProm(text) });
    if (samples.length > 180) samples.shift();
    drawIngestion();
  }

  function drawIngestion() {
    var acc = [], lake = [], prof = [], lag = [], pend = [], p50 = [], p90 = [], p99 = [];
    for (var i = 1; i < samples.length; i++) {
      var a = samples[i - 1], b = samples[i], dt = (b.t - a.t) / 1000, x = (b.t - samples[samples.length - 1].t) / 1000;
      var rate = function (name, w) { return Math.max(0, (sum(b.m, name, w) - sum(a.m, name, w)) / dt); };
      acc.push([x, rate('bespoke_collector_events_accepted_total')]);
      lake.push([x, rate('bespoke_lake_rows_written_total', { kind: 'events' })]);
      prof.push([x, rate('bespoke_profile_updater_messages_total')]);
      var ba = buckets(a.m, 'search'), bb = buckets(b.m, 'search');
      var d = bb.map(function (z, k) { return { le: z.le, n: z.n - ((ba[k] || {}).n || 0) }; });
      var ms = function (q) { var v = quantile(q, d); return v == null ? null : v * 1000; };
      p50.push([x, ms(0.5)]); p90.push([x, ms(0.9)]); p99.push([x, ms(0.99)]);
    }
    samples.forEach(function (s) {
      var x = (s.t - samples[samples.length - 1].t) / 1000;
      lag.push([x, Math.max(0, sum(s.m, 'bespoke_collector_events_accepted_total') - sum(s.m, 'bespoke_lake_rows_written_total', { kind: 'events' }) -
        sum(s.m, 'bespoke_lake_duplicates_dropped_total'))]);
      pend.push([x, sum(s.m, 'bespoke_collector_pending_bytes') / 1024]);
    });
    var secs = function (v) { return Math.round(v) + ' s'; };
    chart.line($('#c-ing'), { series: [
      { name: 'events accepted /s', color: '#2f5d50', points: acc },
      { name: 'lake rows written /s', color: '#86a6d6', points: lake },
      { name: 'profile updates /s', color: '#d9673c', points: prof }], xfmt: secs, yfmt: function (v) { return v.toFixed(v < 10 ? 1 : 0); }, yMin: 0, height: 180,
      empty: 'Collecting samples…' });
    chart.line($('#c-lag'), { series: [
      { name: 'events not yet in the lake', color: '#d9673c', points: lag },
      { name: 'collector pending KiB', color: '#7b4fae', points: pend }], xfmt: secs, yfmt: function (v) { return v < 10 ? +v.toFixed(1) : Math.round(v); }, yMin: 0, height: 180 });
    chart.line($('#c-lat'), { series: [
      { name: 'p50', color: '#2f5d50', points: p50 }, { name: 'p90', color: '#e9a23d', points: p90 },
      { name: 'p99', color: '#b94a48', points: p99 }], xfmt: secs, yfmt: function (v) { return v.toFixed(1) + ' ms'; }, yMin: 0, height: 180,
      empty: 'No searches in the last poll intervals.' });
    var last = samples[samples.length - 1].m;
    var total = sum(last, 'bespoke_collector_events_accepted_total');
    var cur = acc.length ? acc[acc.length - 1][1] : 0;
    $('#ing-kpis').innerHTML = kpi(Math.round(total).toLocaleString(), 'events accepted since start') + kpi(cur.toFixed(1), 'events/s now') +
      kpi(Math.round(lag[lag.length - 1][1]).toLocaleString(), 'not yet in the lake') +
      kpi(Math.round(sum(last, 'bespoke_lake_files_written_total')).toLocaleString(), 'lake files written');
    var eps = ['search', 'rerank', 'size'];
    var les = buckets(last, 'search').map(function (z) { return z.le; });
    chart.bars($('#c-hist'), {
      labels: les.map(function (le) { return le === Infinity ? 'more' : String(+(le * 1000).toFixed(1)); }),
      series: eps.map(function (ep, j) {
        var bs = buckets(last, ep);
        return { name: ep, color: ['#2f5d50', '#86a6d6', '#d9673c'][j], values: bs.map(function (z, k) { return z.n - (k ? bs[k - 1].n : 0); }) };
      }), yfmt: function (v) { return Math.round(v); }, empty: 'No requests yet.'
    });
  }

  function kpi(v, label) { return '<div class="kpi"><b>' + esc(v) + '</b><span>' + esc(label) + '</span></div>'; }

  async function loadLatency() {
    var rep = await admin('/v1/admin/metrics?from=' + new Date(Date.now() - DAY).toISOString().replace(/\.\d+Z$/, 'Z'));
    var k = '';
    Object.keys(ARMS).forEach(function (arm) {
      var p50 = (rep.search_latency_p50_ms || {})[arm], p99 = (rep.search_latency_p99_ms || {})[arm];
      k += kpi(p50 ? p50.toFixed(2) + ' ms' : '–', arm + ' p50') + kpi(p99 ? p99.toFixed(2) + ' ms' : '–', arm + ' p99');
    });
    $('#lat-kpis').innerHTML = k;
  }

  async function loadAll() {
    $('#auth').hidden = true;
    var jobs = [loadModels(), loadLatency(), loadAB()];
    var res = await Promise.allSettled(jobs);
    res.forEach(function (r) { if (r.status === 'rejected' && r.reason.message !== 'unauthorized') console.warn(r.reason); });
    // nothing in the default window: find the newest data once (a simulated store lives in its own dates)
    if (!autoLatest && res[2].status === 'fulfilled' && res[2].value === 0) {
      autoLatest = true;
      await latest().catch(function (e) { console.warn(e); });
    }
    document.body.dataset.loaded = 'true';
    return res;
  }

  async function start(cfg) {
    token = cfg.adminToken || sessionStorage.getItem('bespoke.adminToken') || '';
    $('#end').value = dayStr(Date.now());
    $('#auth-form').onsubmit = function (e) {
      e.preventDefault();
      token = $('#token').value.trim();
      sessionStorage.setItem('bespoke.adminToken', token);
      loadAll();
    };
    $('#logout').onclick = function () { sessionStorage.removeItem('bespoke.adminToken'); token = ''; needToken(''); };
    $('#reload').onclick = loadAll;
    $('#days').onchange = loadAB;
    $('#end').onchange = loadAB;
    $('#latest').onclick = latest;
    poll();
    setInterval(poll, 2000);
    setInterval(function () { if (token) loadLatency().catch(function () {}); }, 10000);
    if (!token) return needToken('');
    loadAll();
  }

  fetch('/config.json').then(function (r) { return r.json(); }).then(start);
})();
