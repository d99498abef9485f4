#include "store/ratings.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace recsys::store {

namespace {

constexpr std::string_view kStatsKey = "ratings_stats";

// meta "ratings_stats": u64 count, f32 min, f32 max, u32 feedback, u32 zero.
struct StoredStats {
  std::uint64_t count;
  float min_value;
  float max_value;
  std::uint32_t feedback;
  std::uint32_t reserved;
};
static_assert(sizeof(StoredStats) == 24);

}  // namespace

const char* feedback_name(Feedback f) {
  switch (f) {
    case Feedback::Implicit: return "implicit";
    case Feedback::Explicit: return "explicit";
    default: return "unknown";
  }
}

void decode_ratings(std::string_view bytes, std::vector<RatingRecord>& out) {
  if (bytes.size() % sizeof(RatingRecord) != 0) {
    throw std::runtime_error("corrupt ratings: stored list is not a multiple of 16 bytes");
  }
  out.resize(bytes.size() / sizeof(RatingRecord));
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
}

std::vector<RatingRecord> get_user_ratings(const Database& db, const Txn& txn, std::uint32_t user) {
  std::vector<RatingRecord> out;
  if (auto v = db.tables().ratings.get(txn, bytes_of(user))) decode_ratings(*v, out);
  return out;
}

void put_user_ratings(const Database& db, const Txn& txn, std::uint32_t user, std::span<const RatingRecord> records,
                      unsigned int flags) {
  if (records.empty()) {
    db.tables().ratings.del(txn, bytes_of(user));
    return;
  }
  for (std::size_t k = 1; k < records.size(); ++k) {
    if (records[k - 1].item >= records[k].item) {
      throw std::logic_error("put_user_ratings: records must be sorted by item without repeats");
    }
  }
  std::size_t bytes = records.size() * sizeof(RatingRecord);
  char* dest = db.tables().ratings.reserve(txn, bytes_of(user), bytes, flags);
  std::memcpy(dest, records.data(), bytes);
}

std::size_t sort_and_fold(std::span<RatingRecord> records, DuplicatePolicy policy) {
  auto by_item = [](const RatingRecord& a, const RatingRecord& b) { return a.item < b.item; };
  if (!std::is_sorted(records.begin(), records.end(), by_item)) {
    // Stable by construction: sort (item, position) as one 64-bit key, which
    // is several times faster than std::stable_sort on 16-byte records.
    std::vector<std::uint64_t> keys(records.size());
    for (std::size_t k = 0; k < records.size(); ++k) keys[k] = (std::uint64_t{records[k].item} << 32) | k;
    std::sort(keys.begin(), keys.end());
    std::vector<RatingRecord> sorted(records.size());
    for (std::size_t k = 0; k < records.size(); ++k) sorted[k] = records[keys[k] & 0xffffffffu];
    std::copy(sorted.begin(), sorted.end(), records.begin());
  }
  std::size_t out = 0;
  for (std::size_t k = 0; k < records.size(); ++k) {
    if (out > 0 && records[out - 1].item == records[k].item) {
      RatingRecord& kept = records[out - 1];
      if (policy == DuplicatePolicy::Sum) {
        kept.value = std::clamp(kept.value + records[k].value, -kMaxRatingValue, kMaxRatingValue);
        kept.timestamp = std::max(kept.timestamp, records[k].timestamp);
      } else {
        kept = records[k];
      }
    } else {
      records[out++] = records[k];
    }
  }
  return out;
}

std::vector<RatingRecord> merge_user_ratings(const Database& db, const Txn& txn, std::uint32_t user,
                                             std::span<const RatingRecord> incoming, DuplicatePolicy policy) {
  std::vector<RatingRecord> merged = get_user_ratings(db, txn, user);
  std::size_t before = merged.size();
  merged.insert(merged.end(), incoming.begin(), incoming.end());
  merged.resize(sort_and_fold(merged, policy));
  put_user_ratings(db, txn, user, merged);

  RatingStats stats = rating_stats(db, txn);
  bool first = stats.count == 0;
  stats.count = stats.count - before + merged.size();
  for (const auto& r : merged) {
    if (first) {
      stats.min_value = stats.max_value = r.value;
      first = false;
    }
    stats.min_value = std::min(stats.min_value, r.value);
    stats.max_value = std::max(stats.max_value, r.value);
  }
  put_rating_stats(db, txn, stats);
  return merged;
}

// 8 bytes at a time (records are 16 bytes).
std::uint64_t ratings_fingerprint(std::span<const RatingRecord> records) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ records.size();
  for (const auto& r : records) {
    std::uint64_t w[2];
    std::memcpy(w, &r, sizeof w);
    for (std::uint64_t x : w) {
      h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
    }
  }
  return h | 1;
}

void for_each_user_ratings(const Database& db, const Txn& txn,
                           const std::function<void(std::uint32_t, std::span<const RatingRecord>)>& fn) {
  Cursor cur = Cursor::open(txn, db.tables().ratings);
  std::vector<RatingRecord> buffer;
  std::string_view key, value;
  for (bool ok = cur.get(key, value, MDB_FIRST); ok; ok = cur.get(key, value, MDB_NEXT)) {
    decode_ratings(value, buffer);
    fn(load<std::uint32_t>(key), buffer);
  }
}

void clear_ratings(const Database& db, const Txn& txn) {
  db.tables().ratings.clear(txn);
  db.tables().meta.del(txn, kStatsKey);
}

std::size_t users_with_ratings(const Database& db, const Txn& txn) { return db.tables().ratings.size(txn); }

RatingStats rating_stats(const Database& db, const Txn& txn) {
  RatingStats out;
  auto v = db.tables().meta.get(txn, kStatsKey);
  if (!v) return out;
  auto s = load<StoredStats>(*v);
  out.count = s.count;
  out.min_value = s.min_value;
  out.max_value = s.max_value;
  out.feedback = s.feedback <= 2 ? static_cast<Feedback>(s.feedback) : Feedback::Unknown;
  return out;
}

void put_rating_stats(const Database& db, const Txn& txn, const RatingStats& stats) {
  StoredStats s{stats.count, stats.min_value, stats.max_value, static_cast<std::uint32_t>(stats.feedback), 0};
  db.tables().meta.put(txn, kStatsKey, bytes_of(s));
}

}  // namespace recsys::store
