/* draw.js: product pictures drawn from a product's category and colour (no downloads).
 * productSVG(product, size) returns an <svg> string. */
(function (root) {
  'use strict';
  var COLORS = {
    black: '#26262b', white: '#f4f4f1', grey: '#9a9ca3', gray: '#9a9ca3', navy: '#24345e', blue: '#3b73c9',
    red: '#c8383a', green: '#3c8a4f', olive: '#6f7436', beige: '#d9c8a6', brown: '#7a4b2a', tan: '#c19a6b',
    pink: '#e58fb0', burgundy: '#7c1f34', yellow: '#e9c53d', purple: '#7b4fae', cream: '#f1e7cf', orange: '#e77f2e',
    silver: '#c0c4cc', gold: '#caa545', teal: '#2b8c8c', khaki: '#b8a77a', ivory: '#f6f1e1', charcoal: '#3d3f45'
  };
  var SHAPES = {
    sneaker: '<path d="M24 120V80C24 71 30 66 40 66L58 69C64 78 74 80 82 73L98 56C104 51 112 53 116 59L132 84C152 90 174 94 183 104C187 110 187 116 185 120Z"/>' +
      '<path class="d" d="M18 118H190V126Q190 132 184 132H24Q18 132 18 126Z"/>' +
      '<path class="l" d="M102 64L112 60M108 72L118 68M114 80L124 76M46 104C80 98 120 92 160 104"/>',
    boot: '<path d="M62 18H112L114 88C142 90 174 96 180 114V122H56V58Z"/>' +
      '<path class="d" d="M52 120H184V130Q184 136 178 136H58Q52 136 52 130Z"/>' +
      '<path class="l" d="M74 34H100M74 46H100M74 58H100M74 70H104" />',
    sandal: '<path class="d" d="M20 116C20 106 40 102 100 104C160 102 186 108 186 116V124Q186 128 180 128H26Q20 128 20 122Z"/>' +
      '<path d="M70 104C74 80 96 74 112 80L118 104Z"/><path d="M128 104C130 90 146 86 156 94L160 106Z"/>',
    heel: '<path d="M26 100C56 94 92 100 120 110L160 60C168 50 182 52 184 62L178 124H168L166 90L132 124H40C26 122 20 106 26 100Z"/>' +
      '<path class="d" d="M166 92L178 96L176 132H168Z"/>',
    flat: '<path d="M24 104C24 92 58 86 90 86C122 84 154 90 176 100C188 106 186 120 176 122H32C22 120 20 110 24 104Z"/>' +
      '<path class="d" d="M20 118H188V124Q188 130 180 130H28Q20 130 20 124Z"/><path class="l" d="M78 92C92 98 112 98 126 92"/>',
    tee: '<path d="M62 24L86 16C92 30 108 30 114 16L138 24L172 56L152 74L140 62V142H60V62L48 74L28 56Z"/>' +
      '<path class="l" d="M86 16C92 30 108 30 114 16"/>',
    shirt: '<path d="M62 24L86 14L100 30L114 14L138 24L168 118L150 124L140 70V142H60V70L50 124L32 118Z"/>' +
      '<path class="l" d="M100 30V140M86 14L94 40L100 30L106 40L114 14"/><circle class="d" cx="104" cy="58" r="2.5"/><circle class="d" cx="104" cy="82" r="2.5"/><circle class="d" cx="104" cy="106" r="2.5"/>',
    dress: '<path d="M82 14H90L92 30H108L110 14H118L120 46L134 76L162 146H38L66 76L80 46Z"/>' +
      '<path class="l" d="M70 76H130"/>',
    skirt: '<path d="M70 34H130L162 138H38Z"/><path class="d" d="M68 30H132V42H68Z"/><path class="l" d="M84 44L72 136M100 44V138M116 44L128 136"/>',
    pants: '<path d="M64 16H136L146 146H110L100 62L90 146H54Z"/><path class="d" d="M64 14H136V26H64Z"/><path class="l" d="M100 26V62"/>',
    shorts: '<path d="M60 40H140L152 118H110L100 76L90 118H48Z"/><path class="d" d="M60 36H140V48H60Z"/>',
    jacket: '<path d="M60 22L84 14L100 34L116 14L140 22L176 122L156 128L140 72V146H60V72L44 128L24 122Z"/>' +
      '<path class="l" d="M100 34V146M84 14L92 48M116 14L108 48"/>',
    sweater: '<path d="M60 22C80 30 120 30 140 22L176 122L156 128L140 72V146H60V72L44 128L24 122Z"/>' +
      '<path class="l" d="M62 136H138M62 141H138M80 24C88 34 112 34 120 24"/>',
    hoodie: '<path d="M78 22C78 6 122 6 122 22L140 26L176 122L156 128L140 72V146H60V72L44 128L24 122L60 26Z"/>' +
      '<path class="d" d="M84 26C88 40 112 40 116 26C112 14 88 14 84 26Z"/><path class="l" d="M76 104H124V126H76Z"/>',
    generic: '<rect x="44" y="30" width="112" height="100" rx="14"/><path class="d" d="M44 62H156V72H44Z"/><circle class="l" cx="100" cy="100" r="12"/>'
  };
  var FAMILY = [
    [/hiking|ankle|boot/, 'boot'], [/sandal|slide|slipper/, 'sandal'], [/heel|pump|stiletto/, 'heel'],
    [/flat|loafer|oxford|dress shoe|moccasin/, 'flat'], [/sneaker|running|trainer|shoe/, 'sneaker'],
    [/dress/, 'dress'], [/skirt/, 'skirt'], [/short/, 'shorts'], [/jean|pant|trouser|legging|chino/, 'pants'],
    [/t-shirt|tshirt|\btee|\btop|tank|cami/, 'tee'], [/hood|sweatshirt/, 'hoodie'], [/sweater|jumper|pullover|cardigan|knit/, 'sweater'],
    [/jacket|coat|parka|blazer/, 'jacket'], [/shirt|blouse/, 'shirt']
  ];

  function family(p) {
    var c = String((p && (p.category || p.name)) || '').toLowerCase();
    for (var i = 0; i < FAMILY.length; i++) if (FAMILY[i][0].test(c)) return FAMILY[i][1];
    return 'generic';
  }

  function hash(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
    return h >>> 0;
  }

  function colorOf(p) {
    var c = String((p && p.color) || '').toLowerCase().trim();
    if (COLORS[c]) return COLORS[c];
    var w = c.split(/[\s\/-]+/);
    for (var i = 0; i < w.length; i++) if (COLORS[w[i]]) return COLORS[w[i]];
    var h = hash(c || String((p && p.product_id) || ''));
    return 'hsl(' + (h % 360) + ',45%,52%)';
  }

  function shade(hex, f) {
    if (hex[0] !== '#') return 'rgba(0,0,0,.35)';
    var n = parseInt(hex.slice(1), 16);
    var ch = [n >> 16, (n >> 8) & 255, n & 255].map(function (x) { return Math.round(x * f); });
    return 'rgb(' + ch.join(',') + ')';
  }

  function light(hex) {
    if (hex[0] !== '#') return false;
    var n = parseInt(hex.slice(1), 16);
    return 0.3 * (n >> 16) + 0.59 * ((n >> 8) & 255) + 0.11 * (n & 255) > 200;
  }

  function productSVG(p) {
    var fill = colorOf(p);
    var dark = shade(fill, light(fill) ? 0.72 : 0.62);
    var line = light(fill) ? 'rgba(0,0,0,.35)' : 'rgba(255,255,255,.55)';
    var bg = 'hsl(' + (hash(String((p && p.brand) || '')) % 360) + ',30%,95%)';
    return '<svg class="pic" viewBox="0 0 200 160" role="img" aria-label="' + esc((p && p.color) || '') + ' ' +
      esc((p && p.category) || 'product') + '" xmlns="http://www.w3.org/2000/svg">' +
      '<rect width="200" height="160" fill="' + bg + '"/>' +
      '<ellipse cx="100" cy="146" rx="80" ry="6" fill="rgba(0,0,0,.07)"/>' +
      '<g fill="' + fill + '" stroke="' + dark + '" stroke-width="2" stroke-linejoin="round">' +
      SHAPES[family(p)].replace(/class="d"/g, 'fill="' + dark + '"').replace(/class="l"/g, 'fill="none" stroke="' + line + '"') +
      '</g></svg>';
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  root.draw = { productSVG: productSVG, family: family, colorOf: colorOf, esc: esc };
})(this);
