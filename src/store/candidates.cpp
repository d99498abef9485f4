#include "store/candidates.hpp"

#include <cstring>
#include <stdexcept>

#include "store/ids.hpp"

namespace recsys::store {

namespace {
constexpr std::string_view kDepthKey = "cache_depth";
}  // namespace

std::string candidate_key(CandidateKind kind, std::string_view id) {
  std::string key(1, static_cast<char>(kind));
  key.append(id);
  return key;
}

std::string encode_candidates(ListSource source, std::uint32_t generation, std::span<const RankedItem> items) {
  ListHeader h;
  h.source = source;
  h.generation = generation;
  h.count = static_cast<std::uint32_t>(items.size());
  std::string bytes(sizeof h + items.size_bytes(), '\0');
  std::memcpy(bytes.data(), &h, sizeof h);
  if (!items.empty()) std::memcpy(bytes.data() + sizeof h, items.data(), items.size_bytes());
  return bytes;
}

void put_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id,
                    std::string_view bytes, unsigned int flags) {
  if (id.size() > kMaxIdBytes) return;
  db.tables().candidates.put(txn, candidate_key(kind, id), bytes, flags);
}

void delete_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id) {
  if (id.size() > kMaxIdBytes) return;
  db.tables().candidates.del(txn, candidate_key(kind, id));
}

Candidates parse_candidates(std::string_view bytes) {
  Candidates c;
  if (bytes.size() < sizeof(ListHeader)) throw std::runtime_error("candidate list is truncated: run recsys precompute");
  std::memcpy(&c.header, bytes.data(), sizeof c.header);
  if (c.header.format != kListFormat ||
      bytes.size() != sizeof(ListHeader) + std::size_t{c.header.count} * sizeof(RankedItem)) {
    throw std::runtime_error("candidate list is corrupt: run recsys precompute");
  }
  c.items.resize(c.header.count);
  // LMDB values are not aligned: copy.
  if (c.header.count > 0) std::memcpy(c.items.data(), bytes.data() + sizeof(ListHeader), c.items.size() * sizeof(RankedItem));
  return c;
}

std::optional<Candidates> get_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id) {
  if (id.size() > kMaxIdBytes) return std::nullopt;
  auto v = db.tables().candidates.get(txn, candidate_key(kind, id));
  if (!v) return std::nullopt;
  return parse_candidates(*v);
}

std::optional<std::uint32_t> cache_depth(const Database& db, const Txn& txn) { return db.meta_u32(txn, kDepthKey); }

void set_cache_depth(const Database& db, const Txn& txn, std::uint32_t depth) {
  db.put_meta_u32(txn, kDepthKey, depth);
}

}  // namespace recsys::store
