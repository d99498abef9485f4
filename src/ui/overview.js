// The overview: the model card, metrics against the popularity baseline, the
// training curve and the data statistics, from the object GET /v1/model
// answers. Used by the dashboard (/ui/) and by `recsys train --report` files.
'use strict';
var RecsysOverview = (function () {
  var C = RecsysCharts, h = C.h, num = C.num;
  var METRICS = [
    ['precision_at_k', 'precision@k'], ['recall_at_k', 'recall@k'], ['ndcg_at_k', 'nDCG@k'],
    ['map', 'MAP'], ['map_at_k', 'MAP@k'], ['coverage', 'coverage']
  ];

  function label(key, k) { return key.replace('@k', '@' + k); }

  // EASE's input X: x = 1 per stored pair (binary), or the iALS confidence 1 + α·f(r).
  function easeInput(m) {
    if (m.confidence === 'linear') return 'linear, 1 + α·r, α ' + m.alpha;
    if (m.confidence === 'log') return 'log, 1 + α·log(1 + r/ε), α ' + m.alpha + ', ε ' + num(m.epsilon);
    return 'binary (1 per rated item)';
  }

  // The family and what it has: ALS factors, iterations and a loss; EASE an
  // items × items weight matrix solved in closed form (λ and its input weighting).
  function family(m) {
    if (m.model === 'ease') {
      return {name: 'EASE (item-item weights, closed form)',
              facts: [['λ (regularization)', m.regularization], ['input', easeInput(m)],
                      ['item weights', num(m.items) + ' × ' + num(m.items)]]};
    }
    var als = m.feedback + ' ALS' + (m.feedback === 'implicit' ? ' (' + m.solver + ', confidence ' + m.confidence + ')' : '');
    return {name: als,
            facts: [['factors', m.factors], ['iterations', m.iterations], ['regularization', m.regularization],
                    ['alpha', m.feedback === 'implicit' ? m.alpha : null]]};
  }

  function modelCard(m) {
    var f = family(m);
    var facts = [
      ['family', f.name],
      ['generation', m.generation + (m.serving ? ' (serving)' : '')],
      ['trained at', m.trained_at]
    ].concat(f.facts, [
      ['seed', m.seed],
      ['users × items', num(m.users) + ' × ' + num(m.items)], ['ratings fitted', num(m.ratings)],
      ['split', m.split === 'none' ? 'none' : m.split + ' ' + Math.round(m.test_fraction * 100) + '% test' +
        (m.refit ? ', refit on all' : '')],
      ['training time', num(m.train_seconds, 2) + ' s'],
      ['loss / rating, last fit', m.model === 'ease' ? null : num(m.loss)]
    ]);
    return h('section', {class: 'card', id: 'model-card'}, h('h2', {}, 'Model'),
      h('dl', {class: 'facts'}, facts.filter(function (f) { return f[1] !== null && f[1] !== undefined; })
        .map(function (f) { return [h('dt', {}, f[0]), h('dd', {}, f[1])]; })));
  }

  function metricsTable(m) {
    if (!m.metrics) {
      return h('section', {class: 'card', id: 'metrics'}, h('h2', {}, 'Hold-out metrics'),
        h('p', {class: 'muted'}, 'No evaluation: this model was trained with --split none.'));
    }
    var k = m.metrics.k, rows = METRICS.map(function (r) {
      var a = m.metrics[r[0]], b = m.baseline ? m.baseline[r[0]] : null;
      return h('tr', {}, h('td', {}, label(r[1], k)),
        h('td', {class: 'num', id: 'metric-' + r[0]}, num(a, 4)),
        h('td', {class: 'num'}, num(b, 4)),
        h('td', {class: 'num'}, b > 0 ? num(a / b, 2) + '×' : '–'));
    });
    if (m.metrics.rmse !== undefined) {
      rows.push(h('tr', {}, h('td', {}, 'RMSE'), h('td', {class: 'num', id: 'metric-rmse'}, num(m.metrics.rmse, 4)),
                  h('td', {class: 'num'}, '–'), h('td', {class: 'num'}, '–')));
      rows.push(h('tr', {}, h('td', {}, 'MAE'), h('td', {class: 'num'}, num(m.metrics.mae, 4)),
                  h('td', {class: 'num'}, '–'), h('td', {class: 'num'}, '–')));
    }
    return h('section', {class: 'card', id: 'metrics'},
      h('h2', {}, 'Hold-out metrics'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'metric'), h('th', {class: 'num'}, 'model'),
        h('th', {class: 'num'}, 'most popular'), h('th', {class: 'num'}, 'lift'))), h('tbody', {}, rows)),
      h('p', {class: 'muted'}, num(m.metrics.users) + ' test users, k = ' + k + '.'));
  }

  function curveCard(m, width) {
    var c = m.curve;
    var card = h('section', {class: 'card wide', id: 'curve'}, h('h2', {}, 'Training curve'));
    if (m.model === 'ease') {
      return append(card, h('p', {class: 'muted', id: 'curve-summary'},
        'EASE is solved in closed form (one matrix inverse): no iterations and no loss to draw.'));
    }
    if (!c || !c.iterations || !c.iterations.length) {
      return append(card, h('p', {class: 'muted'}, 'No per-iteration record for this generation.'));
    }
    var hasNdcg = c.ndcg.some(function (v) { return v !== null; });
    var hasLoss = c.loss.some(function (v) { return v !== null; });
    var series = [];
    if (hasLoss) series.push({name: 'loss per rating', values: c.loss, color: '#c2571a', axis: 'left'});
    if (hasNdcg) series.push({name: 'validation nDCG@' + c.k, values: c.ndcg, color: '#2458a6', axis: 'right'});
    var last = c.iterations.length - 1;
    card.appendChild(h('div', {class: 'legend'}, series.map(function (sr) {
      var chip = h('span', {class: 'swatch'});
      chip.style.background = sr.color;
      return h('span', {}, chip, sr.name);
    })));
    if (series.length) {
      card.appendChild(C.lineChart({x: c.iterations, series: series, width: width, height: 240, xLabel: 'iteration',
                                    label: 'loss and validation nDCG per iteration'}));
    }
    card.appendChild(h('p', {class: 'muted', id: 'curve-summary'},
      c.phase + ', ' + c.iterations.length + ' iterations' +
      (hasNdcg ? '; validation nDCG@' + c.k + ' after the last: ' + num(c.ndcg[last], 4) + ' (' + num(c.users) +
        ' test users)' : '') +
      (hasLoss ? '; loss per rating ' + num(c.loss[0]) + ' → ' + num(c.loss[last]) : '') + '.'));
    return card;
  }

  function histogram(id, title, hist, width, color, xLabel, integer) {
    var card = h('section', {class: 'card', id: id}, h('h2', {}, title));
    if (!hist || !hist.counts || !hist.counts.length) return append(card, h('p', {class: 'muted'}, 'No data.'));
    var labels = hist.counts.map(function (_, i) {
      var lo = hist.edges[i], hi = hist.edges[i + 1];
      if (!integer) return num(lo);
      return hi - lo <= 1 ? String(lo) : C.compact(lo) + '–' + C.compact(hi - 1);
    });
    card.appendChild(C.barChart({labels: labels, counts: hist.counts, width: width, color: color, xLabel: xLabel,
                                 label: title}));
    return card;
  }

  function append(node, child) { node.appendChild(child); return node; }

  function render(container, m) {
    container.textContent = '';
    var width = Math.max(280, Math.min(1200, container.clientWidth - 34));
    var third = window.innerWidth > 800 ? (width - 32) / 3 : width;
    container.appendChild(h('h1', {}, 'Model generation ' + m.generation));
    var top = h('div', {class: 'grid'}, modelCard(m), metricsTable(m), curveCard(m, width - 2));
    container.appendChild(top);
    var d = m.data;
    if (d) {
      container.appendChild(h('h2', {class: 'section'}, 'Data: ' + num(d.ratings) + ' ratings, ' + num(d.users) +
        ' users, ' + num(d.items) + ' items, density ' + (d.density * 100).toPrecision(3) + '%'));
      container.appendChild(h('div', {class: 'grid3'},
        histogram('ratings-per-user', 'Ratings per user', d.ratings_per_user, third, '#2458a6', 'ratings (log bins)', true),
        histogram('ratings-per-item', 'Ratings per item', d.ratings_per_item, third, '#1d7a43', 'ratings (log bins)', true),
        histogram('rating-values', 'Rating values', d.rating_values, third, '#c2571a', 'value', false)));
    }
  }

  return {render: render};
})();
