// DOM and SVG helpers shared by the dashboard and the report file. Every piece
// of data enters the page as a text node or an attribute value, never as
// markup, so ids and titles such as "<b>Tom & Jerry</b>" show as written.
'use strict';
var RecsysCharts = (function () {
  var SVG = 'http://www.w3.org/2000/svg';

  function append(node, children) {
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      if (Array.isArray(c)) return append(node, c);
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return node;
  }
  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    });
    return node;
  }
  // h('a', {href: …}, 'text', child…): an HTML element.
  function h(tag, attrs) {
    var node = setAttrs(document.createElement(tag), attrs);
    return append(node, Array.prototype.slice.call(arguments, 2));
  }
  function s(tag, attrs) {
    var node = setAttrs(document.createElementNS(SVG, tag), attrs);
    return append(node, Array.prototype.slice.call(arguments, 2));
  }

  // Numbers as people read them: 4 significant digits, thousands grouped.
  function num(v, digits) {
    if (v === null || v === undefined || (typeof v === 'number' && !isFinite(v))) return '–';
    if (typeof v !== 'number') return String(v);
    if (digits !== undefined) return v.toFixed(digits);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(4);
  }
  function compact(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(v * 100) / 100);
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }
  function extent(values) {
    var f = values.filter(function (v) { return v !== null && isFinite(v); });
    if (!f.length) return null;
    return [Math.min.apply(null, f), Math.max.apply(null, f)];
  }

  // Lines over a shared x axis; each series on the left or right y axis.
  // opts: {x: [...], series: [{name, values, color, axis, floor}], width, height}
  function lineChart(opts) {
    var W = Math.max(280, opts.width || 560), H = opts.height || 220;
    var m = {l: 52, r: 52, t: 12, b: 30};
    var xs = opts.x, n = xs.length;
    var svg = s('svg', {class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
                        'aria-label': opts.label || 'chart'});
    var x0 = xs[0], x1 = xs[n - 1] === x0 ? x0 + 1 : xs[n - 1];
    function X(v) { return m.l + (v - x0) / (x1 - x0) * (W - m.l - m.r); }
    svg.appendChild(s('line', {class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b}));
    var ticks = Math.min(n, Math.max(2, Math.floor((W - m.l - m.r) / 50)));
    for (var t = 0; t < ticks; t++) {
      var xv = xs[Math.round(t * (n - 1) / Math.max(1, ticks - 1))];
      svg.appendChild(s('text', {x: X(xv), y: H - m.b + 16, 'text-anchor': 'middle'}, xv));
    }
    svg.appendChild(s('text', {x: (W) / 2, y: H - 2, 'text-anchor': 'middle'}, opts.xLabel || ''));
    opts.series.forEach(function (ser) {
      var e = extent(ser.values);
      if (!e) return;
      var lo = e[0] === e[1] ? e[0] - 1 : e[0], hi = e[1];
      // A series that cannot go below a floor (rates: 0) starts its axis there.
      if (ser.floor !== undefined) {
        lo = Math.min(ser.floor, e[0]);
        if (hi <= lo) hi = lo + 1;
      }
      var pad = (hi - lo) * 0.08;
      lo -= pad; hi += pad;
      function Y(v) { return m.t + (hi - v) / (hi - lo) * (H - m.t - m.b); }
      var right = ser.axis === 'right';
      // Enough significant digits that the three tick labels differ.
      var digits = Math.min(8, Math.max(3, Math.ceil(Math.log10(Math.max(Math.abs(lo), Math.abs(hi)) /
                                                                 ((hi - lo) / 2 || 1))) + 1));
      var ax = right ? W - m.r : m.l;
      svg.appendChild(s('line', {class: 'axis', x1: ax, x2: ax, y1: m.t, y2: H - m.b}));
      [lo + pad, (lo + hi) / 2, hi - pad].forEach(function (v) {
        svg.appendChild(s('text', {x: right ? ax + 4 : ax - 4, y: Y(v) + 4, 'text-anchor': right ? 'start' : 'end',
                                   fill: ser.color}, Number(v.toPrecision(digits)).toString()));
      });
      var d = '';
      ser.values.forEach(function (v, i) {
        if (v === null || !isFinite(v)) return;
        d += (d ? 'L' : 'M') + X(xs[i]).toFixed(1) + ',' + Y(v).toFixed(1);
      });
      svg.appendChild(s('path', {d: d, fill: 'none', stroke: ser.color, 'stroke-width': 2}));
      ser.values.forEach(function (v, i) {
        if (v === null || !isFinite(v)) return;
        svg.appendChild(s('circle', {cx: X(xs[i]), cy: Y(v), r: 2.5, fill: ser.color},
                          s('title', {}, ser.name + ' at ' + xs[i] + ': ' + num(v))));
      });
    });
    return svg;
  }

  // Bars with a label under each. opts: {labels, counts, color, width, height}
  function barChart(opts) {
    var W = Math.max(260, opts.width || 360), H = opts.height || 180;
    var m = {l: 44, r: 8, t: 10, b: 34};
    var n = opts.counts.length;
    var top = niceMax(Math.max.apply(null, opts.counts.concat([0])));
    var svg = s('svg', {class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
                        'aria-label': opts.label || 'histogram'});
    var bw = (W - m.l - m.r) / Math.max(1, n);
    function Y(v) { return m.t + (1 - v / top) * (H - m.t - m.b); }
    [0, top / 2, top].forEach(function (v) {
      svg.appendChild(s('line', {class: 'axis', x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v)}));
      svg.appendChild(s('text', {x: m.l - 4, y: Y(v) + 4, 'text-anchor': 'end'}, compact(v)));
    });
    var every = Math.ceil(n / Math.max(1, Math.floor((W - m.l - m.r) / 34)));
    opts.counts.forEach(function (c, i) {
      var x = m.l + i * bw;
      svg.appendChild(s('rect', {x: x + 1, y: Y(c), width: Math.max(1, bw - 2), height: Y(0) - Y(c),
                                 fill: opts.color || '#2458a6'},
                        s('title', {}, opts.labels[i] + ': ' + num(c))));
      if (i % every === 0)
        svg.appendChild(s('text', {x: x + bw / 2, y: H - m.b + 14, 'text-anchor': 'middle'}, opts.labels[i]));
    });
    svg.appendChild(s('text', {x: (m.l + W) / 2, y: H - 3, 'text-anchor': 'middle'}, opts.xLabel || ''));
    return svg;
  }

  return {h: h, s: s, num: num, compact: compact, lineChart: lineChart, barChart: barChart};
})();
