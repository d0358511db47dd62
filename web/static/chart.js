/* chart.js: tiny dependency-free SVG charts for the dashboard.
 * chart.line(el, {series:[{name, color, points:[[x, y, lo, hi]…]}], xfmt, yfmt, yMin, height})
 * chart.bars(el, {labels:[…], series:[{name, color, values:[…]}], yfmt, height}) */
(function (root) {
  'use strict';
  var W = 560;
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function num(x) { return typeof x === 'number' && isFinite(x); }
  function nice(lo, hi) {
    if (!(hi > lo)) { hi = lo + 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / 4)));
    [1, 2, 2.5, 5, 10].some(function (m) { if ((hi - lo) / (step * m) <= 5) { step *= m; return true; } return false; });
    return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step: step };
  }
  function legend(series) {
    return '<div class="legend">' + series.map(function (s) {
      return '<span><i style="background:' + s.color + '"></i>' + esc(s.name) + '</span>';
    }).join('') + '</div>';
  }
  function frame(o, ys, xs) {
    var H = o.height || 200, L = 48, R = 22, T = 10, B = 26;
    var lo = o.yMin != null ? o.yMin : Math.min.apply(null, ys), hi = Math.max.apply(null, ys);
    if (!ys.length) { lo = 0; hi = 1; }
    if (o.yMin != null) lo = Math.min(lo, o.yMin);
    var n = nice(lo, hi);
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    if (!xs.length) { x0 = 0; x1 = 1; }
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    var f = {
      H: H, L: L, R: R, T: T, B: B, n: n,
      x: function (v) { return L + (v - x0) / (x1 - x0) * (W - L - R); },
      y: function (v) { return T + (1 - (v - n.lo) / (n.hi - n.lo)) * (H - T - B); }
    };
    var g = '';
    for (var v = n.lo; v <= n.hi + n.step / 2; v += n.step) {
      g += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + f.y(v) + '" y2="' + f.y(v) + '"/>' +
        '<text x="' + (L - 6) + '" y="' + (f.y(v) + 4) + '" text-anchor="end">' + esc((o.yfmt || String)(v)) + '</text>';
    }
    g += '<line class="axis" x1="' + L + '" x2="' + (W - R) + '" y1="' + (H - B) + '" y2="' + (H - B) + '"/>';
    f.grid = g;
    return f;
  }
  function empty(el, msg) { el.innerHTML = '<p class="muted small">' + esc(msg || 'No data yet.') + '</p>'; }

  function line(el, o) {
    var pts = [];
    o.series.forEach(function (s) { s.points.forEach(function (p) { if (num(p[1])) pts.push(p); }); });
    if (!pts.length) return empty(el, o.empty);
    var ys = [];
    pts.forEach(function (p) { ys.push(p[1]); if (num(p[2])) ys.push(p[2]); if (num(p[3])) ys.push(p[3]); });
    var xs = pts.map(function (p) { return p[0]; });
    var f = frame(o, ys, xs);
    var body = '';
    o.series.forEach(function (s) {
      var ps = s.points.filter(function (p) { return num(p[1]); });
      var band = ps.filter(function (p) { return num(p[2]) && num(p[3]); });
      if (band.length > 1) {
        body += '<path fill="' + s.color + '" opacity=".13" d="M' + band.map(function (p) { return f.x(p[0]) + ',' + f.y(p[3]); }).join('L') +
          'L' + band.slice().reverse().map(function (p) { return f.x(p[0]) + ',' + f.y(p[2]); }).join('L') + 'Z"/>';
      }
      if (ps.length > 1) body += '<path fill="none" stroke="' + s.color + '" stroke-width="2" d="M' + ps.map(function (p) { return f.x(p[0]) + ',' + f.y(p[1]); }).join('L') + '"/>';
      if (ps.length < 40) ps.forEach(function (p) {
        body += '<circle cx="' + f.x(p[0]) + '" cy="' + f.y(p[1]) + '" r="3" fill="' + s.color + '"><title>' +
          esc(s.name + ' ' + (o.xfmt || String)(p[0]) + ': ' + (o.yfmt || String)(p[1])) + '</title></circle>';
      });
    });
    var xl = '', xs2 = Array.from(new Set(xs)).sort(function (a, b) { return a - b; });
    var every = Math.max(1, Math.ceil(xs2.length / 7));
    xs2.forEach(function (x, i) {
      if (i % every === 0 || i === xs2.length - 1) xl += '<text x="' + f.x(x) + '" y="' + (f.H - 8) + '" text-anchor="middle">' + esc((o.xfmt || String)(x)) + '</text>';
    });
    el.innerHTML = '<svg class="chart" viewBox="0 0 ' + W + ' ' + f.H + '">' + f.grid + xl + body + '</svg>' + legend(o.series);
  }

  function bars(el, o) {
    var ys = [];
    o.series.forEach(function (s) { s.values.forEach(function (v) { if (num(v)) ys.push(v); }); });
    if (!ys.length) return empty(el, o.empty);
    ys.push(0);
    var f = frame(Object.assign({}, o, { yMin: 0 }), ys, [0, o.labels.length]);
    var slot = (W - f.L - f.R) / o.labels.length, bw = Math.min(36, slot * 0.8 / o.series.length);
    var body = '';
    o.labels.forEach(function (lab, i) {
      var x = f.L + slot * i + (slot - bw * o.series.length) / 2;
      o.series.forEach(function (s, j) {
        var v = s.values[i];
        if (!num(v)) return;
        body += '<rect x="' + (x + j * bw) + '" y="' + f.y(v) + '" width="' + (bw - 2) + '" height="' + Math.max(0, f.y(0) - f.y(v)) +
          '" fill="' + s.color + '" rx="2"><title>' + esc(lab + ' ' + s.name + ': ' + (o.yfmt || String)(v)) + '</title></rect>';
      });
      body += '<text x="' + (f.L + slot * i + slot / 2) + '" y="' + (f.H - 8) + '" text-anchor="middle">' + esc(lab) + '</text>';
    });
    el.innerHTML = '<svg class="chart" viewBox="0 0 ' + W + ' ' + f.H + '">' + f.grid + body + '</svg>' + legend(o.series);
  }

  root.chart = { line: line, bars: bars };
})(this);
