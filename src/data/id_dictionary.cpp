#include "data/id_dictionary.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace recsys::data {

namespace {
inline std::uint64_t mix(std::uint64_t x) {
  // splitmix64 finaliser: every input bit affects every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace

std::uint64_t hash_id(std::string_view s) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ s.size();
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h ^ w);
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  return mix(h ^ tail);
}

void IdHashMap::rehash(std::size_t expected) {
  std::size_t cap = std::bit_ceil(std::max<std::size_t>(16, expected * 2));
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{0, nullptr, 0, 0});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (!s.data) continue;
    std::size_t i = s.hash & mask_;
    while (slots_[i].data) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void IdHashMap::insert(std::string_view key, std::uint64_t hash, std::uint32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) rehash(size_ + 1);
  std::size_t i = hash & mask_;
  while (slots_[i].data) i = (i + 1) & mask_;
  // An empty id still needs a non-null pointer to mark the slot used.
  static const char kEmpty = 0;
  slots_[i] = Slot{hash, key.empty() ? &kEmpty : key.data(), static_cast<std::uint32_t>(key.size()), value};
  ++size_;
}

void IdHashMap::clear() {
  if (size_ == 0) return;
  if (slots_.size() > 4096) {
    slots_.assign(16, Slot{0, nullptr, 0, 0});
    mask_ = 15;
  } else {
    std::fill(slots_.begin(), slots_.end(), Slot{0, nullptr, 0, 0});
  }
  size_ = 0;
}

std::string_view ByteArena::copy(std::string_view s) {
  if (blocks_.empty() || used_ + s.size() > block_size_) {
    block_size_ = std::max<std::size_t>(std::size_t{1} << 20, s.size());
    blocks_.push_back(std::make_unique<char[]>(block_size_));
    used_ = 0;
  }
  char* dest = blocks_.back().get() + used_;
  if (!s.empty()) std::memcpy(dest, s.data(), s.size());
  used_ += s.size();
  return {dest, s.size()};
}

void IdDictionary::remember_numeric(std::string_view id, std::uint32_t index) {
  std::uint32_t v;
  if (!small_number(id, v)) return;
  if (v >= numeric_.size()) {
    // Only while the values stay dense enough to be worth an array.
    constexpr std::size_t kMaxEntries = std::size_t{1} << 24;
    std::size_t limit = std::min<std::size_t>(kMaxEntries, 16 * (static_cast<std::size_t>(size()) + 65536));
    if (v >= limit) return;
    numeric_.resize(std::min<std::size_t>(limit, std::max<std::size_t>(v + 1, numeric_.size() * 2)), 0);
  }
  numeric_[v] = index + 1;
}

void IdDictionary::load_stored(const std::vector<std::string_view>& stored) {
  stored_ = static_cast<std::uint32_t>(stored.size());
  for (std::size_t k = 0; k < stored.size(); ++k) {
    std::string_view id = arena_.copy(stored[k]);
    map_.insert(id, hash_id(id), static_cast<std::uint32_t>(k));
    remember_numeric(id, static_cast<std::uint32_t>(k));
  }
}

std::uint32_t IdDictionary::find_or_add(std::string_view id, std::uint64_t hash) {
  if (const auto* v = map_.find(id, hash)) return *v;
  if (size() >= kProvisional) throw std::runtime_error("more than 2^31 distinct ids");
  std::string_view kept = arena_.copy(id);
  std::uint32_t index = size();
  map_.insert(kept, hash, index);
  added_.push_back(kept);
  remember_numeric(kept, index);
  return index;
}

std::vector<std::uint32_t> LocalIds::merge_into(IdDictionary& global) const {
  std::vector<std::uint32_t> remap(order_.size());
  for (std::size_t k = 0; k < order_.size(); ++k) remap[k] = global.find_or_add(order_[k].id, order_[k].hash);
  return remap;
}

void LocalIds::clear() {
  local_.clear();
  order_.clear();
  has_last_ = false;
}

}  // namespace recsys::data
