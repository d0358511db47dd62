/* store.js: the Bespoke demo storefront. Reads the public serving API (/v1/search, /v1/size,
 * /v1/products/{id}) and sends every event through the browser SDK (window.bespoke) with the
 * names and properties of CONTRACT §2. */
(function () {
  'use strict';
  var $ = function (s) { return document.querySelector(s); };
  var esc = draw.esc;
  var LIMIT = 20;
  var CATEGORIES = ['sneakers', 'running shoes', 'boots', 'ankle boots', 'hiking boots', 'sandals', 'heels', 'flats',
    'loafers', 'slippers', 'dress shoes', 't-shirts', 'tops', 'blouses', 'shirts', 'dresses', 'skirts', 'jeans', 'pants',
    'shorts', 'leggings', 'jackets', 'coats', 'sweaters', 'hoodies'];
  var SUGGEST = ['sneakers', 'trail boots', 'black dress', 'running shoes', 'linen shirt', 'jeans', 'hoodie', 'ankle boots', 'heels'];

  var products = new Map(); // product_id → Promise of the product
  var brands = new Set();
  var cats = new Set(CATEGORIES);
  var last = null; // {key, query, filters, offset, resp}
  var bag = loadBag();
  var forceNext = false;

  // ---- small helpers ---------------------------------------------------

  function money(x) { return x == null || x === 0 ? '' : '$' + Number(x).toFixed(2); }
  function uid() { return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 18); }
  function user() { return bespoke.user(); }

  // flush sends what is queued now. Only when something is queued: bespoke.js 0.1.0 wedges
  // (never sends again) when its flush starts with nothing pending: the send loop finishes
  // synchronously and clears `sending` before `sending` is assigned its settled promise.
  function flush() { return bespoke.stats().queued > 0 ? bespoke.flush() : Promise.resolve(); }
  window.storeFlush = flush;

  async function getJSON(url, opt) {
    var r = await fetch(url, opt);
    var text = await r.text();
    var body;
    try { body = JSON.parse(text); } catch (e) { body = { error: text }; }
    if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
    return body;
  }

  function product(id) {
    if (!products.has(id)) {
      var p = getJSON('/v1/products/' + encodeURIComponent(id)).then(function (p) {
        if (p.brand) brands.add(p.brand);
        if (p.category && !cats.has(p.category)) { cats.add(p.category); fillCategories(); }
        return p;
      });
      p.catch(function () { products.delete(id); });
      products.set(id, p);
    }
    return products.get(id);
  }

  function loadBag() {
    try { return JSON.parse(localStorage.getItem('store.bag') || '[]'); } catch (e) { return []; }
  }
  function saveBag() {
    localStorage.setItem('store.bag', JSON.stringify(bag));
    $('#bag-count').textContent = bag.length;
  }

  function show(view) {
    ['#home', '#results-view', '#product-view', '#bag-view'].forEach(function (v) { $(v).hidden = v !== view; });
    $('#filters').classList.toggle('dim', view === '#product-view' || view === '#bag-view');
  }

  function parseHash() {
    var h = location.hash.replace(/^#/, '') || '/';
    var i = h.indexOf('?');
    return { path: i < 0 ? h : h.slice(0, i), params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
  }

  // ---- identity and privacy ---------------------------------------------

  function fillCustomers() {
    var sel = $('#customer');
    for (var i = 1; i <= 20; i++) {
      var id = 'C' + String(i).padStart(6, '0');
      var o = document.createElement('option');
      o.value = o.textContent = id;
      sel.appendChild(o);
    }
  }

  function syncIdentity() {
    var id = user().userId || '';
    var sel = $('#customer');
    if (id && !Array.from(sel.options).some(function (o) { return o.value === id; })) {
      var o = document.createElement('option');
      o.value = o.textContent = id;
      sel.appendChild(o);
    }
    sel.value = id;
    $('#personalize').checked = !bespoke.optedOut();
    privacyText();
  }

  function privacyText(note) {
    var on = $('#personalize').checked;
    $('#personalize-label').textContent = on ? 'Personalization on' : 'Personalization off (opted out)';
    $('#privacy').classList.toggle('off', !on);
    $('#optout-note').textContent = note || (on
      ? 'Results and sizes are tailored to what you browse and buy. Switch off to opt out.'
      : 'You get the same ranking as an anonymous visitor; your activity no longer shapes your results.');
  }

  function signIn(id) {
    id = (id || '').trim();
    if (id === (user().userId || '')) return;
    bespoke.reset(); // a new shopper: new anonymous id, no opt-out carried over
    if (id) bespoke.identify(id, { source: 'storefront' });
    bespoke.page('Sign in', { customer_id: id || null });
    flush();
    syncIdentity();
    refresh();
  }

  async function setPersonalization(on) {
    var id = user().userId;
    privacyText(on ? 'Turning personalization on…' : 'Opting out…');
    var ok = on ? await bespoke.optIn() : await bespoke.optOut();
    var note;
    if (!id) note = on ? 'Personalization on for this browser.' : 'Opted out in this browser. Sign in to record it for your account.';
    else if (ok) note = on ? 'Opt-in recorded for ' + id + '.' : 'Opt-out recorded for ' + id + ': from now on you get the anonymous ranking.';
    else note = 'Could not record the choice on the server; try again.';
    privacyText(note);
    $('#privacy').dataset.recorded = ok ? 'yes' : 'no';
    refresh();
  }

  function refresh() {
    var r = parseHash();
    if (r.path === '/search') route(true);
  }

  // ---- search -------------------------------------------------------------

  function filtersFromForm() {
    var f = {};
    [['brand', '#f-brand'], ['category', '#f-category'], ['gender', '#f-gender'], ['size', '#f-size'],
      ['price_min', '#f-pmin'], ['price_max', '#f-pmax']].forEach(function (x) {
      var v = $(x[1]).value.trim();
      if (v) f[x[0]] = v;
    });
    return f;
  }

  function filtersToForm(f) {
    $('#f-brand').value = f.brand || '';
    $('#f-category').value = f.category || '';
    $('#f-gender').value = f.gender || '';
    $('#f-size').value = f.size || '';
    $('#f-pmin').value = f.price_min || '';
    $('#f-pmax').value = f.price_max || '';
  }

  function go(q, filters, offset) {
    var p = new URLSearchParams();
    p.set('q', q || '');
    Object.keys(filters || {}).forEach(function (k) { p.set(k, filters[k]); });
    if (offset) p.set('offset', offset);
    var h = '#/search?' + p.toString();
    if (location.hash === h) search(p, true); // the same search again is a new search
    else {
      forceNext = true; // a search the shopper asked for is new; going back to results is not
      location.hash = h;
    }
  }

  async function search(params, force) {
    var key = params.toString() + '|' + (user().userId || '') + '|' + bespoke.optedOut();
    if (!force && last && last.key === key) return renderResults(last);
    var q = params.get('q') || '';
    var filters = {};
    ['brand', 'category', 'gender', 'size', 'price_min', 'price_max'].forEach(function (k) {
      if (params.get(k)) filters[k] = params.get(k);
    });
    var offset = +params.get('offset') || 0;
    var u = user();
    var api = new URLSearchParams(Object.assign({ q: q, limit: LIMIT, offset: offset }, filters));
    if (u.userId) api.set('customer_id', u.userId);
    if (!(bespoke.optedOut() && !u.userId)) api.set('anonymous_id', u.anonymousId);
    $('#results').setAttribute('aria-busy', 'true');
    var resp;
    try {
      resp = await getJSON('/v1/search?' + api.toString());
    } catch (e) {
      $('#results').innerHTML = '<li class="error">Search failed: ' + esc(e.message) + '</li>';
      show('#results-view');
      return;
    }
    var searched = { query: q, search_id: resp.search_id };
    if (Object.keys(filters).length) searched.filters = filters;
    if (resp.arm) searched.arm = resp.arm;
    bespoke.track('Products Searched', searched);
    // The arm, and in the interleaved arm each item's team, go with the impressions:
    // the server's metrics credit clicks to the ranker that placed the item.
    var viewed = {
      search_id: resp.search_id, query: q,
      products: resp.results.map(function (r, i) {
        var p = { product_id: r.product_id, position: offset + i + 1 };
        if (r.team) p.team = r.team;
        return p;
      })
    };
    if (resp.arm) viewed.arm = resp.arm;
    bespoke.track('Product List Viewed', viewed);
    last = { key: key, query: q, filters: filters, offset: offset, resp: resp };
    renderResults(last);
  }

  function renderStatus(resp) {
    var st = $('#status');
    var id = user().userId;
    st.dataset.personalized = String(resp.personalized);
    st.dataset.arm = resp.arm || '';
    st.dataset.searchId = resp.search_id;
    st.className = 'status ' + (resp.personalized ? 'yes' : 'no');
    var why = resp.personalized ? 'Personalized for ' + (id || 'this visitor')
      : bespoke.optedOut() ? 'Not personalized: opted out'
      : resp.arm === 'control' ? 'Not personalized: control arm of the A/B test'
      : resp.arm === 'interleaved' ? 'Interleaved: the control and personalized rankings merged by team draft'
      : 'Not personalized: nothing known about ' + (id || 'this visitor') + ' yet';
    st.innerHTML = '<b>' + esc(why) + '</b><span>arm <code>' + esc(resp.arm || '?') + '</code> · model <code>' +
      esc(resp.model_version || 'default') + '</code></span>';
  }

  function renderResults(s) {
    var resp = s.resp;
    $('#q').value = s.query;
    filtersToForm(s.filters);
    renderStatus(resp);
    $('#total').textContent = resp.total ? (s.offset + 1) + '–' + (s.offset + resp.results.length) + ' of ' + resp.total + ' for “' + s.query + '”'
      : 'Nothing found for “' + s.query + '”';
    $('#took').textContent = ' · ' + resp.took_ms.toFixed(1) + ' ms';
    var ol = $('#results');
    ol.removeAttribute('aria-busy');
    ol.innerHTML = resp.results.map(function (r, i) {
      var pos = s.offset + i + 1;
      var size = r.recommended_size
        ? '<span class="fit ' + (r.in_stock_in_size ? 'in' : 'out') + '">Your size ' + esc(r.recommended_size) +
          (r.in_stock_in_size ? ' · in stock' : ' · sold out') + '</span>' : '';
      return '<li class="card" data-product-id="' + esc(r.product_id) + '" data-position="' + pos + '">' +
        '<a href="#/p/' + encodeURIComponent(r.product_id) + '?sid=' + encodeURIComponent(resp.search_id) + '&pos=' + pos + '">' +
        '<div class="img" data-img="' + esc(r.product_id) + '"><div class="ph"></div></div>' +
        '<div class="meta"><span class="brand">' + esc(r.brand || '') + '</span>' +
        '<span class="name">' + esc(r.name || r.product_id) + '</span>' +
        '<span class="row"><span class="price">' + money(r.price) + '</span>' + size + '</span></div></a></li>';
    }).join('');
    resp.results.forEach(function (r) {
      product(r.product_id).then(function (p) {
        var el = ol.querySelector('[data-img="' + CSS.escape(r.product_id) + '"]');
        if (el) el.innerHTML = draw.productSVG(p);
      }, function () {});
    });
    Promise.allSettled(resp.results.map(function (r) { return product(r.product_id); })).then(fillBrands);
    $('#prev').disabled = s.offset === 0;
    $('#next').disabled = s.offset + resp.results.length >= resp.total;
    show('#results-view');
  }

  function fillBrands() {
    $('#brands').innerHTML = Array.from(brands).sort().map(function (b) { return '<option value="' + esc(b) + '">'; }).join('');
  }

  function fillCategories() {
    var sel = $('#f-category');
    var cur = sel.value;
    sel.innerHTML = '<option value="">any</option>' + Array.from(cats).map(function (c) {
      return '<option>' + esc(c) + '</option>';
    }).join('');
    sel.value = cur;
  }

  // ---- product page --------------------------------------------------------

  async function productPage(id, params) {
    var sid = params.get('sid') || undefined;
    var view = $('#product-view');
    view.innerHTML = '<p class="muted">Loading…</p>';
    show('#product-view');
    var u = user();
    var sq = new URLSearchParams({ product_id: id });
    if (u.userId) sq.set('customer_id', u.userId);
    if (!(bespoke.optedOut() && !u.userId)) sq.set('anonymous_id', u.anonymousId);
    var p, rec;
    try {
      p = await product(id);
    } catch (e) {
      view.innerHTML = '<p class="error">Cannot load product ' + esc(id) + ': ' + esc(e.message) + '</p>';
      return;
    }
    try { rec = await getJSON('/v1/size?' + sq.toString()); } catch (e) { rec = { error: e.message }; }
    bespoke.track('Product Viewed', sid ? { product_id: id, search_id: sid } : { product_id: id });
    bespoke.page('Product', { product_id: id });

    var sizes = (p.sizes || []);
    var chosen = rec.recommended_size || (sizes.find(function (z) { return z.in_stock; }) || {}).size || '';
    var details = ['category', 'gender', 'color', 'material', 'style'].filter(function (k) { return p[k]; })
      .map(function (k) { return '<dt>' + k + '</dt><dd>' + esc(p[k]) + '</dd>'; }).join('');
    var recHTML;
    if (rec.error) recHTML = '<div class="rec none">No size advice: ' + esc(rec.error) + '</div>';
    else if (!rec.recommended_size) recHTML = '<div class="rec none">This product has no sizes to advise on.</div>';
    else recHTML = '<div class="rec" id="size-rec" data-size="' + esc(rec.recommended_size) + '">' +
      '<div class="rec-main" id="size-advice" data-advice="' + esc(rec.advice || '') + '">' + adviceHTML(rec) +
      '<span class="conf" title="confidence">' + Math.round(rec.confidence * 100) + '% sure</span></div>' +
      '<p class="note" id="fit-note">' + esc(rec.fit_note || '') + '</p>' +
      '<p class="muted small">Based on ' + esc(basisText(rec.basis)) + (rec.product_fit && rec.product_fit !== 'unknown'
        ? ' · this product ' + esc(rec.product_fit.replace(/_/g, ' ')) : '') + '</p>' + probTable(rec) + '</div>';

    view.innerHTML = '<a class="back" href="javascript:history.back()">← Back to results</a>' +
      '<div class="pwrap"><div class="big">' + draw.productSVG(p) + '</div><div class="pinfo">' +
      '<span class="brand">' + esc(p.brand || '') + '</span><h1 id="product-name">' + esc(p.name) + '</h1>' +
      '<div class="price big-price">' + money(p.price) + '</div>' +
      (p.description ? '<p class="desc">' + esc(p.description) + '</p>' : '') + '<dl class="facts">' + details + '</dl>' +
      recHTML +
      (sizes.length ? '<div class="sizes" id="sizes">' + sizes.map(function (z) {
        return '<button type="button" class="sz' + (z.size === chosen ? ' sel' : '') + (z.size === rec.recommended_size ? ' rec-sz' : '') +
          '" data-size="' + esc(z.size) + '"' + (z.in_stock ? '' : ' disabled title="sold out"') + '>' + esc(z.size) + '</button>';
      }).join('') + '</div>' : '') +
      '<div class="actions"><button type="button" id="add" class="primary">Add to bag</button>' +
      '<button type="button" id="buy-now" class="secondary">Buy now</button></div>' +
      '<p id="added" class="muted" aria-live="polite"></p></div></div>';

    view.querySelectorAll('.sz').forEach(function (b) {
      b.onclick = function () {
        view.querySelectorAll('.sz').forEach(function (x) { x.classList.remove('sel'); });
        b.classList.add('sel');
        chosen = b.dataset.size;
      };
    });
    function add() {
      var props = { product_id: id };
      if (chosen) props.size = chosen;
      if (sid) props.search_id = sid;
      bespoke.track('Product Added', props);
      bag.push({ product_id: id, name: p.name, brand: p.brand, size: chosen, price: p.price || 0, category: p.category, color: p.color });
      saveBag();
      $('#added').textContent = 'Added ' + (chosen ? 'size ' + chosen : '') + ' to your bag.';
    }
    $('#add').onclick = add;
    $('#buy-now').onclick = function () { add(); location.hash = '#/bag'; };
  }

  // adviceHTML words /v1/size's advice: anchored on the customer's usual size (take it,
// or move off it by size_steps) when the answer is personal or the item runs small or
// large, else the named size. Without a usual_size the named size is other shoppers'.
function adviceHTML(rec) {
  var n = Math.abs(rec.size_steps || 0), steps = n === 1 ? 'one size' : n + ' sizes';
  if (rec.size_system === 'us_shoe') steps = n === 1 ? 'half a size' : n === 2 ? 'one size' : (n / 2) + ' sizes';
  var whose = rec.usual_size ? 'size ' : rec.basis === 'body' ? 'people of your build: size ' : 'most shoppers: size ';
  var named = ' <span class="muted">(' + whose + esc(rec.recommended_size) + ')</span>';
  switch (rec.advice) {
    case 'usual': return 'Take <b>your usual size</b>' + named;
    case 'size_up': return 'Take <b>' + steps + ' up</b> from your usual' + named;
    case 'size_down': return 'Take <b>' + steps + ' down</b> from your usual' + named;
  }
  return 'We recommend <b>size ' + esc(rec.recommended_size) + '</b>';
}

function basisText(b) {
    return {
      purchases: 'your purchases and returns', survey: 'your fit survey', product: 'the sizes other shoppers keep in this product',
      population: 'shoppers of this category', none: 'nothing yet'
    }[b] || b || 'nothing yet';
  }

  function probTable(rec) {
    if (!rec.sizes || !rec.sizes.length) return '';
    return '<table class="probs" id="size-probs"><thead><tr><th>size</th><th>too small · fits · too large</th><th>fits</th></tr></thead><tbody>' +
      rec.sizes.map(function (z) {
        var pct = function (x) { return (Math.max(0, x) * 100).toFixed(1) + '%'; };
        return '<tr' + (z.size === rec.recommended_size ? ' class="best"' : '') + '><td>' + esc(z.size) + (z.in_stock === false ? ' <i>sold out</i>' : '') +
          '</td><td><div class="bar"><span class="s" style="width:' + pct(z.p_small) + '"></span><span class="f" style="width:' +
          pct(z.p_fit) + '"></span><span class="l" style="width:' + pct(z.p_large) + '"></span></div></td><td>' +
          Math.round(z.p_fit * 100) + '%</td></tr>';
      }).join('') + '</tbody></table>';
  }

  // ---- bag and checkout ------------------------------------------------------

  function bagPage(done) {
    var view = $('#bag-view');
    show('#bag-view');
    if (done) {
      view.innerHTML = '<h2>Thank you!</h2><p id="order-done" data-order-id="' + esc(done) + '">Order <code>' + esc(done) +
        '</code> is placed.</p><p><a href="#/">Keep shopping</a></p>';
      return;
    }
    if (!bag.length) {
      view.innerHTML = '<h2>Your bag is empty</h2><p><a href="#/">Find something</a></p>';
      return;
    }
    var total = bag.reduce(function (s, x) { return s + (x.price || 0); }, 0);
    view.innerHTML = '<h2>Your bag</h2><ul class="lines">' + bag.map(function (x, i) {
      return '<li><div class="thumb">' + draw.productSVG(x) + '</div><div><b>' + esc(x.name) + '</b><br><span class="muted">' +
        esc(x.brand || '') + (x.size ? ' · size ' + esc(x.size) : '') + '</span></div><div class="price">' + money(x.price) +
        '</div><button type="button" class="link" data-rm="' + i + '">remove</button></li>';
    }).join('') + '</ul><div class="checkout"><span>Total <b>' + money(total) + '</b></span>' +
      '<button type="button" id="buy" class="primary">Buy</button></div>';
    view.querySelectorAll('[data-rm]').forEach(function (b) {
      b.onclick = function () { bag.splice(+b.dataset.rm, 1); saveBag(); bagPage(); };
    });
    $('#buy').onclick = function () {
      var orderId = 'o-' + uid();
      bespoke.track('Order Completed', {
        order_id: orderId, revenue: Math.round(total * 100) / 100, currency: 'USD',
        products: bag.map(function (x) {
          var line = { product_id: x.product_id, price: x.price, quantity: 1 };
          if (x.size) line.size = x.size;
          return line;
        })
      });
      flush();
      bag = [];
      saveBag();
      location.hash = '#/bag?done=' + encodeURIComponent(orderId);
    };
  }

  // ---- routing ---------------------------------------------------------------

  function route(force) {
    var r = parseHash();
    if (r.path === '/search') {
      var f = force === true || forceNext;
      forceNext = false;
      return search(r.params, f);
    }
    if (r.path.indexOf('/p/') === 0) return productPage(decodeURIComponent(r.path.slice(3)), r.params);
    if (r.path === '/bag') return bagPage(r.params.get('done'));
    show('#home');
    bespoke.page('Home');
  }

  function start(cfg) {
    // flushAt 1: each event starts a send at once (events tracked meanwhile join the running
    // send). It also keeps bespoke.js 0.1.0 off its flush timer, which wedges the SDK when it
    // fires after a running send already took its events (see flush() above).
    bespoke.init({ writeKey: cfg.writeKey, optOutEndpoint: true, flushAt: 1, onError: function (e) {
      console.warn('bespoke: ' + e.message);
    } });
    fillCustomers();
    fillCategories();
    syncIdentity();
    saveBag();
    $('#suggest').innerHTML = SUGGEST.map(function (s) { return '<a class="chip" href="#/search?q=' + encodeURIComponent(s) + '">' + esc(s) + '</a>'; }).join('');
    $('#hero').innerHTML = [['sneakers', 'red'], ['ankle boots', 'tan'], ['dresses', 'green'], ['hoodies', 'navy'], ['heels', 'pink'], ['jeans', 'blue']]
      .map(function (x, i) { return '<div>' + draw.productSVG({ category: x[0], color: x[1], brand: 'hero' + i }) + '</div>'; }).join('');
    $('#search').onsubmit = function (e) { e.preventDefault(); go($('#q').value.trim(), filtersFromForm(), 0); };
    $('#apply').onclick = function () { go($('#q').value.trim(), filtersFromForm(), 0); };
    $('#clear').onclick = function () { filtersToForm({}); go($('#q').value.trim(), {}, 0); };
    $('#prev').onclick = function () { go(last.query, last.filters, Math.max(0, last.offset - LIMIT)); };
    $('#next').onclick = function () { go(last.query, last.filters, last.offset + LIMIT); };
    $('#customer').onchange = function () { $('#customer-free').value = ''; signIn($('#customer').value); };
    $('#signin').onclick = function () { signIn($('#customer-free').value || $('#customer').value); };
    $('#customer-free').onkeydown = function (e) { if (e.key === 'Enter') signIn(e.target.value); };
    $('#personalize').onchange = function (e) { setPersonalization(e.target.checked); };
    $('#bag-btn').onclick = function () { location.hash = '#/bag'; };
    document.getElementById('results').addEventListener('click', function (e) {
      var li = e.target.closest('.card');
      if (!li || !last) return;
      var clicked = {
        product_id: li.dataset.productId, position: +li.dataset.position, search_id: last.resp.search_id, query: last.query
      };
      if (last.resp.arm) clicked.arm = last.resp.arm;
      bespoke.track('Product Clicked', clicked);
    });
    window.addEventListener('hashchange', route);
    route();
    document.body.dataset.ready = 'true';
  }

  fetch('/config.json').then(function (r) { return r.json(); }).then(start, function (e) {
    document.body.innerHTML = '<p class="error">Cannot load /config.json: ' + esc(e.message) + '</p>';
  });
})();
