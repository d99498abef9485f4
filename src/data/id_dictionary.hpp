// Import-time id mapping: external id bytes -> dense u32 index. The global
// IdDictionary holds the stored ids plus those new in this import (in order of
// first appearance). Parser threads only read it; ids it does not know get a
// provisional index from their thread's LocalIds, and merge_new_ids() turns
// those into real indexes in file order, so the numbering does not depend on
// the thread count.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace recsys::data {

std::uint64_t hash_id(std::string_view s);

// Equality of short ids without a library call (most ids are a few bytes).
inline bool same_id(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.size() > 16) return std::memcmp(a.data(), b.data(), a.size()) == 0;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k] != b[k]) return false;
  return true;
}

// Open addressing with linear probing; keys are views whose bytes the owner
// keeps alive. Load factor <= 1/2.
class IdHashMap {
 public:
  explicit IdHashMap(std::size_t expected = 16) { rehash(expected); }
  const std::uint32_t* find(std::string_view key, std::uint64_t hash) const {
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.data) return nullptr;
      if (s.hash == hash && same_id(std::string_view(s.data, s.size), key)) {
        return &s.value;
      }
    }
  }
  // `key` must not be present.
  void insert(std::string_view key, std::uint64_t hash, std::uint32_t value);
  std::size_t size() const { return size_; }
  void clear();

 private:
  struct Slot {
    std::uint64_t hash;
    const char* data;  // nullptr: empty
    std::uint32_t size;
    std::uint32_t value;
  };
  void rehash(std::size_t expected);
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Stable storage for id bytes (blocks that never move).
class ByteArena {
 public:
  std::string_view copy(std::string_view s);
  void clear() { blocks_.clear(), used_ = 0; }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = 0;
  std::size_t block_size_ = 0;
};

// Bit 31 marks a provisional (thread-local) index.
inline constexpr std::uint32_t kProvisional = 0x80000000u;

class IdDictionary {
 public:
  // `stored` ids are those already in the database; stored[k] has index k.
  void load_stored(const std::vector<std::string_view>& stored);
  std::uint32_t stored_count() const { return stored_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(stored_ + added_.size()); }
  const std::vector<std::string_view>& added() const { return added_; }  // new ids, index stored_count()+k

  const std::uint32_t* find(std::string_view id, std::uint64_t hash) const { return map_.find(id, hash); }
  // Lookup without hashing for ids written as small decimal numbers (most
  // rating files): returns false when that fast path cannot decide.
  bool find_numeric(std::string_view id, std::uint32_t& index, bool& found) const {
    std::uint32_t v;
    if (!small_number(id, v) || v >= numeric_.size()) return false;
    found = numeric_[v] != 0;
    index = numeric_[v] - 1;
    return true;
  }
  // The index of `id`, adding it at the end when new (copying its bytes).
  std::uint32_t find_or_add(std::string_view id, std::uint64_t hash);

  // A canonical decimal (no sign, no leading zero) below 10^9.
  static bool small_number(std::string_view s, std::uint32_t& v) {
    if (s.empty() || s.size() > 9 || (s[0] == '0' && s.size() > 1)) return false;
    v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return true;
  }

 private:
  void remember_numeric(std::string_view id, std::uint32_t index);

  IdHashMap map_;           // every id
  std::vector<std::uint32_t> numeric_;  // decimal id value -> index + 1 (0: absent), for dense small values
  ByteArena arena_;
  std::vector<std::string_view> added_;
  std::uint32_t stored_ = 0;
};

// One parser thread's unknown ids in one chunk; keys point into the chunk.
class LocalIds {
 public:
  std::uint32_t resolve(const IdDictionary& global, std::string_view id) {
    // Files grouped by user repeat the previous id: skip the lookup.
    if (has_last_ && same_id(id, last_)) {
      return last_index_;
    }
    std::uint32_t index = 0;
    bool found = false;
    bool decided = global.find_numeric(id, index, found);
    if (!found) {
      std::uint64_t h = hash_id(id);
      const std::uint32_t* v = decided ? nullptr : global.find(id, h);
      if (v) {
        index = *v;
      } else if (const auto* w = local_.find(id, h)) {
        index = *w;
      } else {
        index = kProvisional | static_cast<std::uint32_t>(order_.size());
        local_.insert(id, h, index);
        order_.push_back({id, h});
      }
    }
    last_ = id;
    last_index_ = index;
    has_last_ = true;
    return index;
  }
  // Assigns real indexes to this thread's new ids, in order: remap[k] is the
  // index of provisional id k.
  std::vector<std::uint32_t> merge_into(IdDictionary& global) const;
  bool empty() const { return order_.empty(); }
  void clear();

 private:
  struct Pending {
    std::string_view id;
    std::uint64_t hash;
  };
  IdHashMap local_;
  std::vector<Pending> order_;
  std::string_view last_;
  std::uint32_t last_index_ = 0;
  bool has_last_ = false;
};

}  // namespace recsys::data
