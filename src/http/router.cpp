#include "http/router.hpp"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

#include "http/dashboard_api.hpp"
#include "http/events.hpp"
#include "http/filters.hpp"
#include "http/openapi.hpp"
#include "http/ui.hpp"
#include "http/url.hpp"
#include "model/description.hpp"
#include "store/cache.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

namespace recsys::http {

namespace {

using beast::http::verb;

constexpr std::size_t kDefaultK = 10;
constexpr std::size_t kMaxExcluded = 1000;

bool is_read(verb m) { return m == verb::get || m == verb::head; }

void method_not_allowed(Response& r, std::string_view allow) {
  set_error(r, 405, "method_not_allowed", fmt::format("use {}", allow));
  r.extra_headers = allow == "POST" ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n";
}

void not_ready(Response& r) {
  set_error(r, 503, "not_ready", "no precomputed lists: run recsys train and recsys precompute");
}

// k=… : a positive integer; lists hold at most the precomputed k anyway.
bool parse_k(std::string_view query, std::size_t& k, Response& r) {
  k = kDefaultK;
  switch (int_param(query, "k", SIZE_MAX, k)) {
    case IntParam::Absent:
    case IntParam::Valid: return true;
    case IntParam::Repeated: set_error(r, 400, "invalid_parameter", "k is given more than once"); return false;
    case IntParam::Invalid: break;
  }
  set_error(r, 400, "invalid_parameter", "k must be a positive integer");
  return false;
}

// Adds one id to ctx.excluded, JSON-quoted for comparison with list entries.
void add_excluded(std::string_view id, HandlerContext& ctx) {
  if (ctx.excluded.size() <= ctx.excluded_count) ctx.excluded.emplace_back();
  auto& q = ctx.excluded[ctx.excluded_count++];
  q.clear();
  json::append_string(q, id);
}

// One exclude= value: comma-separated ids, added to ctx.excluded.
bool parse_exclude_value(std::string_view rest, HandlerContext& ctx, Response& r) {
  while (true) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    if (!part.empty()) {
      if (ctx.excluded_count == kMaxExcluded) {
        set_error(r, 400, "invalid_parameter", fmt::format("exclude lists at most {} ids", kMaxExcluded));
        return false;
      }
      if (!percent_decode(part, ctx.scratch, true)) {
        set_error(r, 400, "bad_request", "invalid percent-encoding in exclude");
        return false;
      }
      // As for an id in the path: no stored id has such bytes.
      if (!json::valid_utf8(ctx.scratch)) {
        set_error(r, 400, "bad_request", "an id in exclude is not valid UTF-8");
        return false;
      }
      add_excluded(ctx.scratch, ctx);
    }
    if (comma == std::string_view::npos) return true;
    rest = rest.substr(comma + 1);
  }
}

// exclude=id,id : each id percent-decoded, kept JSON-quoted for comparison.
// Every exclude= counts: exclude=a&exclude=b is exclude=a,b.
bool parse_exclude(std::string_view query, HandlerContext& ctx, Response& r) {
  ctx.excluded_count = 0;
  for (std::string_view pairs = query; !pairs.empty();) {
    auto raw = query_param(pairs, "exclude", &pairs);
    if (!raw) break;
    if (!parse_exclude_value(*raw, ctx, r)) return false;
  }
  return true;
}

bool decode_id(std::string_view segment, HandlerContext& ctx, Response& r, const char* what) {
  auto problem = decode_id_segment(segment, ctx.id, what);
  if (problem.empty()) return true;
  set_error(r, 400, "bad_request", problem);
  return false;
}

// A request with filters (?genre=…) or exclude=: answered from the deeper
// candidates of the key whose list `list` is, or of the fallback when it is
// the shared one, so excluded items are replaced by the next ones.
void from_candidates(store::CandidateKind kind, std::string_view query, bool filter, std::size_t k,
                     const store::ListView& list, Response& r, HandlerContext& ctx) {
  const auto& db = *ctx.shared.db;
  std::vector<Filter> filters;
  if (filter && !parse_filters(query, db, ctx.txn, filters, r)) return;
  // exclude= alone refills up to the precomputed k, as long as a plain answer
  // can be; filters may go as deep as the candidates.
  if (!filter) {
    if (auto cache_k = store::cache_k(db, ctx.txn)) k = std::min<std::size_t>(k, *cache_k);
  }
  std::span<const std::string> excluded(ctx.excluded.data(), ctx.excluded_count);
  const char* key_name = kind == store::CandidateKind::User ? "user" : "item";
  auto candidates = store::get_candidates(db, ctx.txn, kind, ctx.id);
  // Candidates of another generation than the list (a cache an older recsys
  // rewrote without them) would answer from the other model: not used.
  if (candidates && candidates->header.generation != list.header().generation) candidates.reset();
  bool own = kind == store::CandidateKind::User
                 ? ctx.id.size() <= store::kMaxStoredIdBytes && store::get_list(db, ctx.txn, store::CacheTable::UserRecs, ctx.id)
                 : list.header().source == store::ListSource::Model;
  if (!candidates && !own) candidates = fallback_candidates(db, ctx.txn);
  if (!candidates) {
    // A cache written without candidates: exclude= cuts the list alone.
    if (!filter) return store::append_body(r.body, key_name, ctx.id, list, k, excluded);
    return set_error(r, 503, "not_ready", "filters need the candidates a recsys precompute of this version stores");
  }
  append_filtered_body(r.body, db, ctx.txn, key_name, ctx.id, *candidates, k, excluded, filters);
}

// The stored list as it is (one lookup and one copy), unless the request
// filters or excludes items.
void answer(store::CandidateKind kind, std::string_view query, std::size_t k, const store::ListView& list, Response& r,
            HandlerContext& ctx) {
  bool filter = !query.empty() && has_filters(query);
  if (filter || ctx.excluded_count > 0) return from_candidates(kind, query, filter, k, list, r, ctx);
  store::append_body(r.body, kind == store::CandidateKind::User ? "user" : "item", ctx.id, list, k);
}

void recommendations(std::string_view segment, std::string_view query, Response& r, HandlerContext& ctx) {
  std::size_t k = 0;
  if (!decode_id(segment, ctx, r, "user") || !parse_k(query, k, r) || !parse_exclude(query, ctx, r)) return;
  const auto& db = *ctx.shared.db;
  // An id too long to be stored cannot have a list: it gets the fallback.
  auto list = ctx.id.size() <= store::kMaxStoredIdBytes
                  ? store::user_list(db, ctx.txn, ctx.id)
                  : store::get_list(db, ctx.txn, store::CacheTable::Popularity, store::kFallbackKey);
  if (!list) return not_ready(r);
  answer(store::CandidateKind::User, query, k, *list, r, ctx);
}

void similar(std::string_view segment, std::string_view query, Response& r, HandlerContext& ctx) {
  std::size_t k = 0;
  if (!decode_id(segment, ctx, r, "item") || !parse_k(query, k, r) || !parse_exclude(query, ctx, r)) return;
  const auto& db = *ctx.shared.db;
  std::optional<store::ListView> list;
  if (ctx.id.size() <= store::kMaxStoredIdBytes) list = store::similar_list(db, ctx.txn, ctx.id);
  if (!list) {
    if (!store::get_list(db, ctx.txn, store::CacheTable::Popularity, store::kFallbackKey)) return not_ready(r);
    return set_error(r, 404, "not_found", "unknown item");
  }
  // The shared fallback (an item first seen since the last precompute, or a
  // cache without the item's own list) may hold the item: never list it.
  if (list->header().source == store::ListSource::Fallback &&
      !store::get_list(db, ctx.txn, store::CacheTable::ItemSimilar, ctx.id)) {
    add_excluded(ctx.id, ctx);
  }
  answer(store::CandidateKind::Similar, query, k, *list, r, ctx);
}

void model_info(Response& r, HandlerContext& ctx) {
  const auto& db = *ctx.shared.db;
  auto gen = store::serving_generation(db, ctx.txn);
  auto record = gen ? store::find_model(db, ctx.txn, *gen) : std::nullopt;
  if (!record) return set_error(r, 503, "not_ready", "no model is being served: run recsys train and recsys precompute");
  // The description as shown (parameters of the model's family, metrics, training
  // time; model/description.hpp) with the generation first.
  const std::string shown = model::public_description(record->description);
  std::string_view d = shown;
  r.body = fmt::format("{{\"generation\":{},\"serving\":true", *gen);
  auto open = d.find('{');
  auto inner = open == std::string_view::npos ? std::string_view{} : d.substr(open + 1);
  while (!inner.empty() && (inner.front() == ' ' || inner.front() == '\n')) inner.remove_prefix(1);
  if (!inner.empty() && inner.front() != '}') r.body += ',';
  r.body += inner.empty() ? std::string_view("}") : inner;
}

}  // namespace

std::string_view events_state(const SharedState& shared) {
  if (shared.db->read_only()) return "read-only";
  if (!shared.writer) return "accepting";
  if (!shared.writer->writable()) return "refused";
  if (shared.writer->commits_failing()) return "failing";
  // Another process has held the write lock for a while (a long import, or a
  // stopped process): events wait, then get 503 after --event-timeout.
  return shared.writer->lock_wait() >= std::chrono::seconds(1) ? "waiting" : "accepting";
}

namespace {

void readyz(Response& r, HandlerContext& ctx) {
  const auto& db = *ctx.shared.db;
  auto gen = store::serving_generation(db, ctx.txn);
  if (!gen || !store::get_list(db, ctx.txn, store::CacheTable::Popularity, store::kFallbackKey)) {
    return set_error(r, 503, "not_ready", "no model is being served: run recsys train and recsys precompute");
  }
  // Ready for reads whatever the events' state, which is said beside.
  r.body = fmt::format("{{\"status\":\"ready\",\"model\":{},\"events\":\"{}\"}}", *gen, events_state(ctx.shared));
}

void metrics(Response& r, HandlerContext& ctx) {
  const auto& db = *ctx.shared.db;
  ServerGauges g;
  g.connections = ctx.shared.connections.load(std::memory_order_relaxed);
  if (auto gen = store::serving_generation(db, ctx.txn)) g.generation = *gen;
  g.user_lists = store::cache_entries(db, ctx.txn, store::CacheTable::UserRecs);
  g.similar_lists = store::cache_entries(db, ctx.txn, store::CacheTable::ItemSimilar);
  g.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.shared.started).count();
  g.events_accepting = events_state(ctx.shared) == "accepting";
  if (ctx.shared.writer) g.writer = ctx.shared.writer->figures();
  const MDB_envinfo info = db.env().info();
  const auto readers = db.env().readers();
  const auto space = db.space_use(ctx.txn);
  DatabaseFigures d;
  d.file_bytes = db.file_size();
  d.map_bytes = info.me_mapsize;
  d.used_bytes = space.used_bytes;
  d.end_bytes = space.end_bytes;
  d.last_txn = info.me_last_txnid;
  d.readers = readers.open;
  d.max_readers = info.me_maxreaders;
  d.oldest_reader_lag = readers.oldest_lag;
  g.database = d;
  g.process = util::process_stats();
  render_metrics(ctx.shared.metrics, g, r.body);
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
}

// Whether a browser sent the request from a page of this server (the
// dashboard) or of another site. Browsers put Origin ("http://host:port", or
// "null" for sandboxed and file pages) on every POST, and other clients
// (curl, services) send none. The page's origin is this server when its
// host and port are the Host field's, a default port written or not.
bool same_origin(std::string_view origin, std::string_view host) {
  std::string_view default_port;
  if (origin.size() > 7 && beast::iequals(beast::string_view(origin.data(), 7), "http://")) {
    origin.remove_prefix(7);
    default_port = ":80";
  } else if (origin.size() > 8 && beast::iequals(beast::string_view(origin.data(), 8), "https://")) {
    origin.remove_prefix(8);
    default_port = ":443";
  } else {
    return false;
  }
  auto equal = [](std::string_view a, std::string_view b) {
    return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
  };
  if (host.empty() || equal(origin, host)) return !host.empty();
  auto without_default = [&](std::string_view s) {
    return s.size() > default_port.size() && s.ends_with(default_port) ? s.substr(0, s.size() - default_port.size()) : s;
  };
  return equal(without_default(origin), without_default(host));
}

// Whether Host names this machine: a loopback IP literal (with or without a
// port), localhost or a name under .localhost (RFC 6761), or a name the
// operator allowed. A request without Host (HTTP/1.0, hand-typed) passes:
// browsers always send one.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (host.empty()) return true;
  std::string_view name = host;
  if (name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    name = name.substr(1, close - 1);
  } else if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (name.ends_with('.')) name.remove_suffix(1);  // "localhost." is localhost
  auto equal = [](std::string_view a, std::string_view b) {
    return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
  };
  constexpr std::string_view kLocal = ".localhost";
  if (equal(name, kLocal.substr(1)) || (name.size() > kLocal.size() && equal(name.substr(name.size() - kLocal.size()), kLocal)))
    return true;
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(name, ec);
  if (!ec && (ip.is_v4() ? ip.to_v4().is_loopback() : ip.to_v6().is_loopback())) return true;
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return equal(name, a); });
}

// A server on a loopback address answers only requests that name it: a page
// of any site whose name resolves to 127.0.0.1 (DNS rebinding) is same-origin
// with it in the browser, so it could read every user's history and post
// events, with or without a token for writes.
bool host_refused(const Request& request, Response& r, const SharedState& shared) {
  if (!shared.loopback_only || host_allowed(request.host, shared.allowed_hosts)) return false;
  set_error(r, 421, "misdirected_request",
            fmt::format("this server listens on a loopback address and answers requests for localhost, 127.0.0.1 "
                        "or [::1], not for Host {}; a name a proxy on this machine passes on can be allowed with "
                        "serve --allow-host NAME",
                        util::terminal_safe(request.host.substr(0, 200))));
  return true;
}

bool authorized(const Request& request, const std::string& token) {
  return bearer_authorized(request.authorization, token);
}

// The checks of POST /v1/events that need no body (method, read-only
// server, token, Origin); true when the request is refused, with the answer in r.
bool events_refused(const Request& request, Response& r, const SharedState& shared) {
  if (request.method != verb::post) return method_not_allowed(r, "POST"), true;
  if (shared.db->read_only()) {
    set_error(r, 503, "read_only", "this server has read-only access to its database: send events to the primary");
    return true;
  }
  if (!authorized(request, shared.token)) {
    set_error(r, 401, "unauthorized", "POST /v1/events needs the header Authorization: Bearer <token>");
    r.extra_headers = "WWW-Authenticate: Bearer\r\n";
    return true;
  }
  // Cross-site request forgery: a page of any site can make a visitor's
  // browser POST here (a form, or fetch with a text/plain body, needs no CORS
  // preflight), and without a token nothing else would stop it.
  if (!request.origin.empty() && !same_origin(request.origin, request.host)) {
    set_error(r, 403, "forbidden",
              fmt::format("POST /v1/events from a web page of another site (Origin {}) is refused: events are "
                          "sent by services, or by this server's own dashboard",
                          util::terminal_safe(request.origin.substr(0, 200))));
    return true;
  }
  return false;
}

Handled events(const Request& request, Response& r, HandlerContext& ctx) {
  Handled h{Route::Events, false};
  if (events_refused(request, r, ctx.shared)) return h;
  auto err = parse_events(request.body, event_rules(*ctx.shared.db, ctx.txn), ctx.events);
  if (err.status != 0) return set_error(r, err.status, err.code, err.message), h;
  h.deferred = true;
  return h;
}

}  // namespace

std::optional<Route> refused_before_body(const Request& request, Response& r, const SharedState& shared) {
  const bool events = split_target(request.target).path == "/v1/events";
  if (host_refused(request, r, shared)) return events ? Route::Events : Route::Other;
  if (!events || !events_refused(request, r, shared)) return std::nullopt;
  return Route::Events;
}

Handled handle_request(const Request& request, Response& r, HandlerContext& ctx) {
  if (host_refused(request, r, ctx.shared)) return {Route::Other, false};
  Target t = split_target(request.target);
  std::string_view path = t.path;
  if (path.substr(0, 4) == "/v1/") {
    std::string_view rest = path.substr(4);
    std::string_view collection = next_segment(rest);
    if (collection == "users" || collection == "items") {
      std::string_view id = next_segment(rest);
      std::string_view action = rest;
      bool users = collection == "users";
      if (action == (users ? "recommendations" : "similar") && !id.empty()) {
        Handled h{users ? Route::Recommendations : Route::Similar, false};
        if (!is_read(request.method)) return method_not_allowed(r, "GET"), h;
        users ? recommendations(id, t.query, r, ctx) : similar(id, t.query, r, ctx);
        return h;
      }
      if (users && action == "history" && !id.empty()) {
        if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{Route::History};
        return user_history(id, t.query, r, ctx), Handled{Route::History};
      }
    } else if (path == "/v1/events") {
      return events(request, r, ctx);
    } else if (path == "/v1/model") {
      if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{Route::Model};
      return model_info(r, ctx), Handled{Route::Model};
    } else if (path == "/v1/live") {
      if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{Route::Live};
      return live_stats(r, ctx), Handled{Route::Live};
    } else if (path == "/v1/openapi.json") {
      if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{Route::OpenApi};
      return r.body.assign(openapi_document()), Handled{Route::OpenApi};
    }
  } else if (path == "/ui" || path.substr(0, 4) == "/ui/") {
    if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{Route::Ui};
    return serve_ui(path, t.query, request.if_none_match, r, ctx.scratch), Handled{Route::Ui};
  } else if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    Route route = path == "/healthz" ? Route::Healthz : path == "/readyz" ? Route::Readyz : Route::Metrics;
    if (!is_read(request.method)) return method_not_allowed(r, "GET"), Handled{route};
    if (route == Route::Healthz) r.body = "{\"status\":\"ok\"}";
    if (route == Route::Readyz) readyz(r, ctx);
    if (route == Route::Metrics) metrics(r, ctx);
    return Handled{route};
  }
  set_error(r, 404, "not_found", "no such route: see GET /v1/users/{user}/recommendations, "
                                 "/v1/items/{item}/similar, /v1/users/{user}/history, POST /v1/events, /v1/model, "
                                 "/v1/live, /healthz, /readyz, /metrics, /v1/openapi.json, /ui/");
  return Handled{Route::Other};
}

}  // namespace recsys::http
