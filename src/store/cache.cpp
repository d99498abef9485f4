#include "store/cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "store/ids.hpp"
#include "util/json.hpp"

namespace recsys::store {

namespace {

constexpr std::string_view kCacheKKey = "cache_k";
constexpr std::string_view kFallbackOrderKey = "fallback_order";
constexpr std::string_view kItemPrefix = "{\"item\":";

const Dbi& table_of(const Database& db, CacheTable table) {
  switch (table) {
    case CacheTable::UserRecs: return db.tables().user_recs;
    case CacheTable::ItemSimilar: return db.tables().item_similar;
    case CacheTable::Popularity: return db.tables().popularity;
  }
  throw std::logic_error("unknown cache table");
}

}  // namespace

const char* list_source_name(ListSource s) { return s == ListSource::Fallback ? "fallback" : "model"; }

ListView ListView::parse(std::string_view bytes) {
  ListView v;
  if (bytes.size() < sizeof(ListHeader)) throw std::runtime_error("cached list is truncated");
  std::memcpy(&v.header_, bytes.data(), sizeof(ListHeader));
  if (v.header_.format != kListFormat) {
    throw std::runtime_error(fmt::format("cached list has format {} (expected {}): run recsys precompute",
                                         v.header_.format, kListFormat));
  }
  std::size_t offsets = std::size_t{v.header_.count} * sizeof(std::uint32_t);
  if (bytes.size() < sizeof(ListHeader) + offsets) throw std::runtime_error("cached list is truncated");
  v.ends_ = bytes.data() + sizeof(ListHeader);
  v.text_ = bytes.substr(sizeof(ListHeader) + offsets);
  if (v.header_.count > 0 && v.end(v.header_.count - 1) != v.text_.size()) {
    throw std::runtime_error("cached list is corrupt");
  }
  return v;
}

std::uint32_t ListView::end(std::size_t i) const {
  std::uint32_t e;
  std::memcpy(&e, ends_ + i * sizeof(std::uint32_t), sizeof e);
  return e;
}

std::string_view ListView::prefix(std::size_t k) const {
  if (k == 0 || header_.count == 0) return {};
  std::size_t n = std::min<std::size_t>(k, header_.count);
  return text_.substr(0, end(n - 1));
}

std::string_view ListView::entry(std::size_t i) const {
  std::size_t begin = i == 0 ? 0 : end(i - 1) + 1;
  return text_.substr(begin, end(i) - begin);
}

bool ListView::entry_is(std::size_t i, std::string_view quoted_id) const {
  std::string_view e = entry(i);
  return e.size() > kItemPrefix.size() + quoted_id.size() &&
         e.substr(kItemPrefix.size(), quoted_id.size()) == quoted_id &&
         e[kItemPrefix.size() + quoted_id.size()] == ',';
}

void ListBuilder::clear() {
  ends_.clear();
  text_.clear();
}

void ListBuilder::add(std::string_view head, float score, std::string_view tail) {
  if (!ends_.empty()) text_.push_back(',');
  text_.append(head);
  append_score(text_, score);
  text_.append(tail);
  text_.push_back('}');
  ends_.push_back(static_cast<std::uint32_t>(text_.size()));
}

void ListBuilder::add_entry(std::string_view entry) {
  if (!ends_.empty()) text_.push_back(',');
  text_.append(entry);
  ends_.push_back(static_cast<std::uint32_t>(text_.size()));
}

std::string_view ListBuilder::finish(ListSource source, std::uint32_t generation) {
  ListHeader h;
  h.source = source;
  h.generation = generation;
  h.count = static_cast<std::uint32_t>(ends_.size());
  bytes_.resize(sizeof h + ends_.size() * sizeof(std::uint32_t));
  std::memcpy(bytes_.data(), &h, sizeof h);
  if (!ends_.empty()) std::memcpy(bytes_.data() + sizeof h, ends_.data(), ends_.size() * sizeof(std::uint32_t));
  bytes_.append(text_);
  return bytes_;
}

std::string entry_head(std::string_view item_id) {
  std::string out(kItemPrefix);
  json::append_string(out, item_id);
  out += ",\"score\":";
  return out;
}

void append_score(std::string& out, float score) {
  if (!std::isfinite(score)) {
    out += "null";
  } else if (score == std::trunc(score) && std::fabs(score) < 1e9f) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<long long>(score));
  } else {
    fmt::format_to(std::back_inserter(out), "{:.4g}", score);
  }
}

std::optional<ListView> get_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key) {
  auto v = table_of(db, table).get(txn, key);
  if (!v) return std::nullopt;
  return ListView::parse(*v);
}

void put_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key, std::string_view bytes,
              unsigned int flags) {
  table_of(db, table).put(txn, key, bytes, flags);
}

void delete_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key) {
  table_of(db, table).del(txn, key);
}

void clear_caches(const Database& db, const Txn& txn) {
  db.tables().user_recs.clear(txn);
  db.tables().item_similar.clear(txn);
  db.tables().popularity.clear(txn);
  db.tables().candidates.clear(txn);
}

std::size_t cache_entries(const Database& db, const Txn& txn, CacheTable table) {
  return table_of(db, table).size(txn);
}

std::optional<ListView> user_list(const Database& db, const Txn& txn, std::string_view user) {
  if (auto own = get_list(db, txn, CacheTable::UserRecs, user)) return own;
  return get_list(db, txn, CacheTable::Popularity, kFallbackKey);
}

std::optional<ListView> similar_list(const Database& db, const Txn& txn, std::string_view item) {
  if (auto own = get_list(db, txn, CacheTable::ItemSimilar, item)) return own;
  if (!find_index(db, txn, IdKind::Item, item)) return std::nullopt;
  return get_list(db, txn, CacheTable::Popularity, kFallbackKey);
}

void append_body(std::string& out, std::string_view key_name, std::string_view id, const ListView& list,
                 std::size_t k, std::span<const std::string> excluded) {
  out += "{\"";
  out += key_name;
  out += "\":";
  json::append_string(out, id);
  out += ",\"model\":";
  fmt::format_to(std::back_inserter(out), "{}", list.header().generation);
  out += ",\"source\":\"";
  out += list_source_name(list.header().source);
  out += "\",\"items\":[";
  if (excluded.empty()) {
    out += list.prefix(k);
  } else {
    std::size_t taken = 0;
    for (std::size_t i = 0; i < list.size() && taken < k; ++i) {
      bool skip = false;
      for (const auto& q : excluded) skip = skip || list.entry_is(i, q);
      if (skip) continue;
      if (taken++ > 0) out.push_back(',');
      out += list.entry(i);
    }
  }
  out += "]}";
}

void put_fallback_order(const Database& db, const Txn& txn, std::span<const RankedItem> order) {
  db.tables().meta.put(txn, kFallbackOrderKey,
                       std::string_view(reinterpret_cast<const char*>(order.data()), order.size_bytes()));
}

std::vector<RankedItem> fallback_order(const Database& db, const Txn& txn, std::size_t limit) {
  std::vector<RankedItem> out;
  auto v = db.tables().meta.get(txn, kFallbackOrderKey);
  if (!v) return out;
  if (v->size() % sizeof(RankedItem) != 0) {
    throw std::runtime_error("corrupt cache: the stored fallback order is not a multiple of 8 bytes");
  }
  std::size_t n = v->size() / sizeof(RankedItem);
  if (limit != 0) n = std::min(n, limit);
  out.resize(n);
  if (n > 0) std::memcpy(out.data(), v->data(), n * sizeof(RankedItem));  // LMDB values are not aligned
  return out;
}

std::optional<std::uint32_t> cache_k(const Database& db, const Txn& txn) { return db.meta_u32(txn, kCacheKKey); }

void set_cache_k(const Database& db, const Txn& txn, std::uint32_t k) { db.put_meta_u32(txn, kCacheKKey, k); }

}  // namespace recsys::store
