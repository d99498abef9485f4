// The cache part of `recsys check` (see check.hpp): every stored list parses
// in the format of store/cache.hpp byte for byte (the server sends prefixes of
// it without parsing), names only known items, and comes from the serving
// generation, so a reader can never be given lists of two generations.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "store/cache.hpp"
#include "store/check.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"

namespace recsys::store {

namespace {

using HeadSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
// Head -> the metadata tail its entries must carry (items with metadata only).
using TailMap = std::unordered_map<std::string, std::string, StringHash, std::equal_to<>>;

constexpr std::string_view kEntryStart = "{\"item\":\"";
constexpr std::string_view kScoreKey = ",\"score\":";

// One entry `{"item":"<id>","score":<number><metadata tail>}`: returns what is
// wrong with it (empty when sound) and its head `{"item":"<id>","score":` in `head`.
std::string entry_problem(std::string_view e, const HeadSet& heads, const TailMap& tails, std::string_view& head) {
  if (e.substr(0, kEntryStart.size()) != kEntryStart || e.empty() || e.back() != '}') return "is not {\"item\":…}";
  std::size_t i = kEntryStart.size();
  while (i < e.size() && e[i] != '"') i += e[i] == '\\' ? 2 : 1;
  if (i >= e.size() || e.substr(i + 1, kScoreKey.size()) != kScoreKey) return "has no score after the item";
  head = e.substr(0, i + 1 + kScoreKey.size());
  if (!heads.count(head)) return fmt::format("names an unknown item {}", e.substr(kEntryStart.size() - 1, i + 2 - kEntryStart.size()));
  std::string_view rest = e.substr(head.size(), e.size() - head.size() - 1);
  std::string_view score = rest.substr(0, rest.find(','));
  std::string_view tail = rest.substr(score.size());
  auto expected = tails.find(head);
  if (tail != (expected == tails.end() ? std::string_view{} : std::string_view(expected->second))) {
    return "carries other metadata than item_meta holds (run recsys items again)";
  }
  double value = 0;
  auto [end, ec] = std::from_chars(score.data(), score.data() + score.size(), value);
  if (ec != std::errc() || end != score.data() + score.size() || !std::isfinite(value)) {
    return fmt::format("score '{}' is not a finite number", score);
  }
  return {};
}

struct TableSpec {
  CacheTable table;
  const char* name;
  ListSource source;
};

// Checks one stored list; `self` is the head of the item whose similar items
// these are (an item is not similar to itself), else empty.
void check_list(std::string_view bytes, const TableSpec& spec, const std::string& key, std::string_view self,
                const HeadSet& heads, const TailMap& tails, CheckReport& report) {
  if (bytes.size() < sizeof(ListHeader)) return report.add(spec.name, key, "list is shorter than its header");
  ListHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.format != kListFormat) return report.add(spec.name, key, fmt::format("list format {}", h.format));
  std::size_t offsets = std::size_t{h.count} * sizeof(std::uint32_t);
  if (bytes.size() < sizeof h + offsets) return report.add(spec.name, key, "list is shorter than its offsets");
  std::string_view text = bytes.substr(sizeof h + offsets);
  std::uint32_t previous = 0;
  for (std::uint32_t i = 0; i < h.count; ++i) {
    std::uint32_t end;
    std::memcpy(&end, bytes.data() + sizeof h + i * sizeof end, sizeof end);
    bool last = i + 1 == h.count;
    if (end <= previous || end > text.size() || (last ? end != text.size() : text[end] != ',')) {
      return report.add(spec.name, key, fmt::format("entry {} ends at a wrong offset", i));
    }
    previous = end;
  }
  if (h.count == 0 && !text.empty()) return report.add(spec.name, key, "empty list with text");
  // user_recs may also hold a personal fallback (the popular items without the
  // user's own): events store one for a user the model cannot score; and
  // item_similar the fallback without the item, for an item the model has no
  // similar items for.
  if (h.source != spec.source && spec.table == CacheTable::Popularity) {
    report.add(spec.name, key, fmt::format("source is {}", list_source_name(h.source)));
  }
  if (!report.serving || h.generation != *report.serving) {
    report.add(spec.name, key, fmt::format("list of generation {} but serving generation is {}", h.generation,
                                           report.serving ? std::to_string(*report.serving) : "none"));
  }
  ListView list = ListView::parse(bytes);
  std::unordered_set<std::string_view> seen;
  for (std::uint32_t i = 0; i < list.size(); ++i) {
    std::string_view head;
    auto problem = entry_problem(list.entry(i), heads, tails, head);
    if (!problem.empty()) {
      report.add(spec.name, key, fmt::format("entry {} {}", i, problem));
      continue;
    }
    if (!seen.insert(head).second) report.add(spec.name, key, fmt::format("entry {} repeats an item", i));
    if (head == self) report.add(spec.name, key, fmt::format("entry {} is the item itself", i));
  }
}

}  // namespace

void check_caches(const Database& db, const Txn& txn, CheckReport& report) {
  HeadSet heads;
  heads.reserve(report.items);
  TailMap tails;
  for (const auto& id : load_id_strings(db, txn, IdKind::Item)) {
    heads.insert(entry_head(id));
    if (auto meta = item_metadata(db, txn, id)) tails.emplace(entry_head(id), entry_tail(meta));
  }

  const TableSpec specs[] = {{CacheTable::UserRecs, "user_recs", ListSource::Model},
                             {CacheTable::ItemSimilar, "item_similar", ListSource::Model},
                             {CacheTable::Popularity, "popularity", ListSource::Fallback}};
  const Dbi* dbis[] = {&db.tables().user_recs, &db.tables().item_similar, &db.tables().popularity};
  std::size_t lists = 0;
  for (std::size_t t = 0; t < 3; ++t) {
    const TableSpec& spec = specs[t];
    Cursor cursor = Cursor::open(txn, *dbis[t]);
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
      ++lists;
      std::string key = printable_key(k);
      std::string self;
      if (spec.table == CacheTable::UserRecs && !find_index(db, txn, IdKind::User, k)) {
        report.add(spec.name, key, "list for an unknown user");
      } else if (spec.table == CacheTable::ItemSimilar) {
        if (!find_index(db, txn, IdKind::Item, k)) report.add(spec.name, key, "list for an unknown item");
        self = entry_head(k);
      } else if (spec.table == CacheTable::Popularity && k != kFallbackKey) {
        report.add(spec.name, key, "unexpected key (only 'fallback' is written)");
      }
      check_list(v, spec, key, self, heads, tails, report);
    }
  }
  report.lists = lists;
  if (lists > 0 && !cache_k(db, txn)) report.add("meta", "'cache_k'", "missing while lists are stored");
  if (lists > 0 && !db.tables().popularity.get(txn, kFallbackKey)) {
    report.add("popularity", "'fallback'", "missing while lists are stored");
  }
}

}  // namespace recsys::store
