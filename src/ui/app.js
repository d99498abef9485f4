// The dashboard's pages: /ui/ (overview), /ui/users/{user}, /ui/items/{item}
// and /ui/live, each drawn from the JSON API (docs/serving.md). The bearer
// token for posting events lives in this script's memory only: it is asked for
// when the server answers 401 and forgotten when the page is left.
'use strict';
(function () {
  var C = RecsysCharts, h = C.h, num = C.num;
  var app = document.getElementById('app');
  var token = '';

  function ApiError(status, body) {
    this.status = status;
    this.message = body && body.error ? body.error.message : 'HTTP ' + status;
  }

  function api(path, options) {
    options = options || {};
    var headers = {'Accept': 'application/json'};
    if (options.body) headers['Content-Type'] = 'application/json';
    if (token) headers['Authorization'] = 'Bearer ' + token;
    return fetch(path, {method: options.method || 'GET', headers: headers, body: options.body, cache: 'no-store'})
      .then(function (r) {
        return r.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (!r.ok) throw new ApiError(r.status, body);
          return body;
        });
      });
  }

  function enc(id) { return encodeURIComponent(id); }
  // The id, then the metadata `recsys items` stored (title, genres) when the answer has it.
  function itemLink(entry) {
    var genres = Array.isArray(entry.genres) && entry.genres.length ? entry.genres.join(', ') : null;
    return [h('a', {href: '/ui/items/' + enc(entry.item), class: 'item-link'}, entry.item),
            entry.title ? h('span', {class: 'title'}, ' ' + entry.title) : null,
            genres ? h('span', {class: 'genres'}, ' · ' + genres) : null];
  }
  function userLink(id) { return h('a', {href: '/ui/users/' + enc(id)}, id); }
  function message(text, cls) { return h('p', {class: cls || 'muted'}, text); }
  function failed(where, err) {
    return message(where + ': ' + (err && err.message ? err.message : String(err)), 'error');
  }
  function setActive(id) {
    var a = document.getElementById(id);
    if (a) a.classList.add('active');
  }

  // ---- Overview --------------------------------------------------------------
  function overview() {
    setActive('nav-overview');
    api('/v1/model').then(function (m) {
      RecsysOverview.render(app, m);
      document.title = 'recsys · model ' + m.generation;
    }, function (err) {
      app.textContent = '';
      app.appendChild(h('h1', {}, 'Overview'));
      app.appendChild(err.status === 503
        ? message('No model is being served yet: run recsys train and recsys precompute.')
        : failed('GET /v1/model', err));
    });
  }

  // ---- Lists with scores ------------------------------------------------------
  function listTable(id, items, previous, withSimilar) {
    var before = {};
    (previous || []).forEach(function (e, i) { before[e.item] = i; });
    var rows = items.map(function (e, i) {
      var moved = previous && !(e.item in before);
      var cells = [h('td', {class: 'num rank'}, i + 1), h('td', {class: 'id'}, itemLink(e),
        withSimilar ? h('div', {class: 'similar', 'data-similar-of': e.item}) : null),
        h('td', {class: 'num'}, num(e.score, 4))];
      return h('tr', {class: moved ? 'new' : null, 'data-item': e.item}, cells);
    });
    return h('table', {id: id}, h('thead', {}, h('tr', {}, h('th', {class: 'num rank'}, '#'), h('th', {}, 'item'),
      h('th', {class: 'num'}, 'score'))), h('tbody', {}, rows));
  }

  function fillSimilar(table) {
    Array.prototype.forEach.call(table.querySelectorAll('[data-similar-of]'), function (div) {
      api('/v1/items/' + enc(div.getAttribute('data-similar-of')) + '/similar?k=4').then(function (r) {
        div.textContent = '';
        div.appendChild(document.createTextNode('similar: '));
        r.items.forEach(function (e) {
          div.appendChild(h('a', {href: '/ui/items/' + enc(e.item)}, e.title ? e.title : e.item));
        });
      }, function () { div.textContent = ''; });
    });
  }

  // ---- User page --------------------------------------------------------------
  function userPage(user) {
    document.title = 'recsys · user ' + user;
    var recsCard = h('section', {class: 'card', id: 'recommendations'}, h('h2', {}, 'Recommendations'),
                     message('Loading…'));
    var historyCard = h('section', {class: 'card', id: 'history'}, h('h2', {}, 'History'), message('Loading…'));
    var status = h('div', {id: 'event-status', role: 'status'});
    var tokenField = h('label', {hidden: true, id: 'token-label'}, 'token',
                       h('input', {id: 'event-token', type: 'password', autocomplete: 'off'}));
    var form = h('form', {class: 'event', id: 'event-form', autocomplete: 'off'},
      h('label', {}, 'item', h('input', {id: 'event-item', name: 'item', required: true})),
      h('label', {}, 'value', h('input', {id: 'event-value', name: 'value', type: 'number', step: 'any', value: '1'})),
      tokenField, h('button', {type: 'submit', id: 'event-submit'}, 'Post event'));
    var eventCard = h('section', {class: 'card', id: 'event'}, h('h2', {}, 'Post an event'),
      message('Stores the rating and updates this user\'s list at once (POST /v1/events).'), form, status);
    app.textContent = '';
    app.appendChild(h('h1', {}, 'User ', h('span', {id: 'user-id'}, user)));
    app.appendChild(h('div', {class: 'grid'}, recsCard,
                      h('div', {class: 'user-side'}, eventCard, h('div', {class: 'spacer hide-narrow'}), historyCard)));

    var current = null;
    function loadRecs() {
      return api('/v1/users/' + enc(user) + '/recommendations?k=10').then(function (r) {
        var head = h('h2', {}, 'Recommendations ', h('span', {class: 'badge ' + r.source, id: 'recs-source'}, r.source),
                     h('span', {class: 'muted'}, ' model ' + r.model));
        var table = listTable('recs-table', r.items, current, true);
        recsCard.textContent = '';
        recsCard.appendChild(head);
        recsCard.appendChild(r.items.length ? table : message('No recommendations.'));
        fillSimilar(table);
        current = r.items;
      }, function (err) {
        recsCard.textContent = '';
        recsCard.appendChild(h('h2', {}, 'Recommendations'));
        recsCard.appendChild(failed('recommendations', err));
      });
    }
    function loadHistory() {
      return api('/v1/users/' + enc(user) + '/history?limit=50').then(function (r) {
        historyCard.textContent = '';
        historyCard.appendChild(h('h2', {}, 'History ', h('span', {class: 'muted', id: 'history-count'},
          '(' + num(r.count) + ' ratings' + (r.count > r.ratings.length ? ', latest ' + r.ratings.length : '') + ')')));
        if (!r.ratings.length) return historyCard.appendChild(message('No stored ratings.'));
        historyCard.appendChild(h('table', {id: 'history-table'},
          h('thead', {}, h('tr', {}, h('th', {}, 'item'), h('th', {class: 'num'}, 'value'),
                           h('th', {class: 'num hide-narrow'}, 'time'))),
          h('tbody', {}, r.ratings.map(function (e) {
            return h('tr', {'data-item': e.item}, h('td', {class: 'id'}, itemLink(e)),
              h('td', {class: 'num'}, num(e.value)),
              h('td', {class: 'num hide-narrow'}, e.timestamp ? new Date(e.timestamp * 1000).toISOString().slice(0, 10) : '–'));
          }))));
      }, function (err) {
        historyCard.textContent = '';
        historyCard.appendChild(h('h2', {}, 'History'));
        historyCard.appendChild(failed('history', err));
      });
    }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var item = document.getElementById('event-item').value.trim();
      var value = parseFloat(document.getElementById('event-value').value);
      var typed = document.getElementById('event-token').value;
      if (typed) token = typed;
      var event = {user: user, item: item};
      if (isFinite(value)) event.value = value;
      var button = document.getElementById('event-submit');
      button.disabled = true;
      status.className = 'muted';
      status.textContent = 'Posting…';
      api('/v1/events', {method: 'POST', body: JSON.stringify(event)}).then(function () {
        status.className = 'ok';
        status.textContent = 'Stored: ' + item + ' = ' + (event.value === undefined ? 1 : event.value) + '.';
        return Promise.all([loadRecs(), loadHistory()]);
      }, function (err) {
        status.className = 'error';
        if (err.status === 401) {
          token = '';
          tokenField.hidden = false;
          status.textContent = 'This server needs its bearer token to accept events: enter it and post again ' +
            '(it is kept in this page only).';
          document.getElementById('event-token').focus();
        } else {
          status.textContent = 'Not stored: ' + err.message;
        }
      }).then(function () { button.disabled = false; });
    });
    loadRecs();
    loadHistory();
  }

  // ---- Item page --------------------------------------------------------------
  // What a similar-items answer `r` is: the fallback is the most-rated items
  // (docs/serving.md "Fallback"); a model list is a cosine on ALS item factors
  // or the item's row of EASE's weights B, by the family of the served model `m`.
  function similarKind(r, m) {
    if (r.source === 'fallback') return 'most popular: the model has no similar items for this one';
    if (!m || m.generation !== r.model) return 'model ' + r.model;
    return (m.model === 'ease' ? 'EASE weights' : 'cosine on item factors') + ', model ' + r.model;
  }

  function itemPage(item) {
    document.title = 'recsys · item ' + item;
    app.textContent = '';
    var title = h('h1', {}, 'Item ', h('span', {id: 'item-id'}, item));
    var card = h('section', {class: 'card', id: 'similar'}, h('h2', {}, 'Similar items'), message('Loading…'));
    app.appendChild(title);
    app.appendChild(card);
    // The served model's description says which family made the list; a page
    // without it (an error, or a new generation between the two answers) says less.
    var model = api('/v1/model').then(null, function () { return null; });
    Promise.all([api('/v1/items/' + enc(item) + '/similar?k=20'), model]).then(function (answers) {
      var r = answers[0];
      if (r.title) title.appendChild(h('span', {class: 'title'}, ' ' + r.title));
      card.textContent = '';
      card.appendChild(h('h2', {}, 'Similar items ',
                         h('span', {class: 'muted', id: 'similar-kind'}, '(' + similarKind(r, answers[1]) + ')')));
      card.appendChild(r.items.length ? listTable('similar-table', r.items, null, false) : message('No similar items.'));
    }, function (err) {
      card.textContent = '';
      card.appendChild(h('h2', {}, 'Similar items'));
      card.appendChild(err.status === 404 ? message('This item is not in the served model.') : failed('similar', err));
    });
  }

  // ---- Live page --------------------------------------------------------------
  var LIVE_SECONDS = 3;

  // Latency percentile from histogram counts per bucket (upper bounds in
  // seconds, the last bucket open), interpolated linearly within the bucket.
  function percentile(bounds, counts, q) {
    var total = counts.reduce(function (a, b) { return a + b; }, 0);
    if (!total) return null;
    var target = q * total, seen = 0;
    for (var i = 0; i < counts.length; i++) {
      if (seen + counts[i] >= target && counts[i] > 0) {
        var lo = i === 0 ? 0 : bounds[i - 1], hi = i < bounds.length ? bounds[i] : bounds[bounds.length - 1] * 2;
        return lo + (hi - lo) * (target - seen) / counts[i];
      }
      seen += counts[i];
    }
    return bounds[bounds.length - 1];
  }

  function livePage() {
    setActive('nav-live');
    document.title = 'recsys · live';
    var tiles = {};
    var names = [['rps', 'requests/s'], ['eps', 'events/s'], ['p50', 'latency p50 (ms)'], ['p90', 'latency p90 (ms)'],
                 ['p99', 'latency p99 (ms)'], ['connections', 'open connections'], ['generation', 'model generation'],
                 ['requests', 'requests since start'], ['uptime', 'uptime']];
    var grid = h('div', {class: 'tiles'}, names.map(function (n) {
      tiles[n[0]] = h('div', {class: 'value', id: 'live-' + n[0]}, '–');
      return h('div', {class: 'card tile'}, tiles[n[0]], h('div', {class: 'label'}, n[1]));
    }));
    var chartBox = h('section', {class: 'card', id: 'live-chart'}, h('h2', {}, 'Requests per second'));
    var note = message('Refreshed every ' + LIVE_SECONDS + ' s from GET /v1/live; rates and percentiles over the ' +
                       'last interval.');
    app.textContent = '';
    app.appendChild(h('h1', {}, 'Live'));
    app.appendChild(grid);
    app.appendChild(h('div', {class: 'spacer'}));
    app.appendChild(chartBox);
    app.appendChild(note);
    var previous = null, history = [], stamp = h('p', {class: 'muted', id: 'live-updated'});
    app.appendChild(stamp);

    function show(r) {
      var rps = null, eps = null, counts = r.latency.counts;
      if (previous) {
        var dt = Math.max(1e-3, r.uptime_seconds - previous.uptime_seconds);
        rps = (r.requests - previous.requests) / dt;
        eps = (r.events - previous.events) / dt;
        counts = r.latency.counts.map(function (c, i) { return c - previous.latency.counts[i]; });
        history.push(rps);
        if (history.length > 60) history.shift();
      }
      var b = r.latency.bounds;
      function ms(q) { var v = percentile(b, counts, q); return v === null ? '–' : (v * 1000).toFixed(2); }
      tiles.rps.textContent = rps === null ? '…' : rps.toFixed(1);
      tiles.eps.textContent = eps === null ? '…' : eps.toFixed(1);
      tiles.p50.textContent = ms(0.5);
      tiles.p90.textContent = ms(0.9);
      tiles.p99.textContent = ms(0.99);
      tiles.connections.textContent = num(r.connections);
      tiles.generation.textContent = r.generation === null ? 'none' : r.generation;
      tiles.requests.textContent = num(r.requests);
      tiles.uptime.textContent = r.uptime_seconds < 120 ? Math.round(r.uptime_seconds) + ' s'
        : r.uptime_seconds < 7200 ? Math.round(r.uptime_seconds / 60) + ' min' : (r.uptime_seconds / 3600).toFixed(1) + ' h';
      previous = r;
      while (chartBox.childNodes.length > 1) chartBox.removeChild(chartBox.lastChild);
      if (history.length >= 1) {
        var xs = history.map(function (_, i) { return (i - history.length + 1) * LIVE_SECONDS; });
        chartBox.appendChild(C.lineChart({x: xs, series: [{name: 'requests/s', values: history, color: '#2458a6', axis: 'left', floor: 0}],
          width: Math.max(280, chartBox.clientWidth - 34), height: 180, xLabel: 'seconds ago', label: 'requests per second'}));
      } else {
        chartBox.appendChild(message('Collecting…'));
      }
      stamp.textContent = 'Updated ' + new Date().toLocaleTimeString('en-GB') + '.';
    }
    function poll() {
      api('/v1/live').then(show, function (err) {
        stamp.className = 'error';
        stamp.textContent = 'GET /v1/live: ' + err.message;
      }).then(function () { setTimeout(poll, LIVE_SECONDS * 1000); });
    }
    poll();
  }

  // ---- Routing ----------------------------------------------------------------
  document.getElementById('goto').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = document.getElementById('goto-id').value.trim();
    var kind = ev.submitter && ev.submitter.value === 'items' ? 'items' : 'users';
    if (id) location.href = '/ui/' + kind + '/' + enc(id);
  });

  function route() {
    var path = location.pathname;
    var m = /^\/ui\/(users|items)\/([^/]+)$/.exec(path);
    if (m) {
      var id;
      try { id = decodeURIComponent(m[2]); } catch (e) { id = null; }
      if (id === null) return app.replaceChildren(message('Malformed id in the address.', 'error'));
      return m[1] === 'users' ? userPage(id) : itemPage(id);
    }
    if (path === '/ui/live') return livePage();
    return overview();
  }
  route();
})();
