#include "store/ids.hpp"

#include <cstring>
#include <stdexcept>

namespace recsys::store {

namespace {

const Dbi& ids_table(const Database& db, IdKind kind) {
  return kind == IdKind::User ? db.tables().user_ids : db.tables().item_ids;
}
const Dbi& keys_table(const Database& db, IdKind kind) {
  return kind == IdKind::User ? db.tables().user_keys : db.tables().item_keys;
}

// user_ids/item_ids values are little-endian u32 (portable bytes); the keys
// of user_keys/item_keys are native u32 as MDB_INTEGERKEY requires.
std::string_view le_bytes(std::uint32_t v, char (&buf)[4]) {
  for (int b = 0; b < 4; ++b) buf[b] = static_cast<char>((v >> (8 * b)) & 0xff);
  return {buf, 4};
}
std::uint32_t from_le(std::string_view bytes) {
  if (bytes.size() != 4) throw std::runtime_error("corrupt id map: index value is not 4 bytes");
  std::uint32_t v = 0;
  for (int b = 3; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(b)]);
  return v;
}

}  // namespace

const char* id_kind_name(IdKind kind) { return kind == IdKind::User ? "user" : "item"; }

void check_id(IdKind kind, std::string_view id) {
  if (id.empty()) throw std::invalid_argument(std::string("empty ") + id_kind_name(kind) + " id");
  if (id.size() > kMaxIdBytes) {
    throw std::invalid_argument(std::string(id_kind_name(kind)) + " id is longer than " +
                                std::to_string(kMaxIdBytes) + " bytes");
  }
}

std::uint32_t id_count(const Database& db, const Txn& txn, IdKind kind) {
  return static_cast<std::uint32_t>(keys_table(db, kind).size(txn));
}

std::optional<std::uint32_t> find_index(const Database& db, const Txn& txn, IdKind kind, std::string_view id) {
  if (id.empty() || id.size() > kMaxStoredIdBytes) return std::nullopt;
  auto v = ids_table(db, kind).get(txn, id);
  if (!v) return std::nullopt;
  return from_le(*v);
}

std::optional<std::string_view> find_id(const Database& db, const Txn& txn, IdKind kind, std::uint32_t index) {
  return keys_table(db, kind).get(txn, bytes_of(index));
}

std::uint32_t get_or_add_index(const Database& db, const Txn& txn, IdKind kind, std::string_view id, bool* added) {
  check_id(kind, id);
  if (auto found = find_index(db, txn, kind, id)) {
    if (added) *added = false;
    return *found;
  }
  std::uint32_t index = id_count(db, txn, kind);
  char buf[4];
  ids_table(db, kind).put(txn, id, le_bytes(index, buf));
  keys_table(db, kind).put(txn, bytes_of(index), id, MDB_APPEND);
  if (added) *added = true;
  return index;
}

std::vector<std::uint32_t> append_ids(const Database& db, const Txn& txn, IdKind kind,
                                      const std::vector<std::string_view>& ids) {
  std::vector<std::uint32_t> out(ids.size());
  if (ids.empty()) return out;
  std::uint32_t next = id_count(db, txn, kind);
  const Dbi& forward = ids_table(db, kind);
  Cursor keys = Cursor::open(txn, keys_table(db, kind));
  char buf[4];
  for (std::size_t k = 0; k < ids.size(); ++k) {
    // One B-tree search either way: the insert fails when the id is stored.
    if (!forward.put(txn, ids[k], le_bytes(next, buf), MDB_NOOVERWRITE)) {
      auto found = find_index(db, txn, kind, ids[k]);
      if (!found) throw std::runtime_error("corrupt id map: an id is stored without its index");
      out[k] = *found;
      continue;
    }
    // New indexes ascend, so every key goes at the end of the B-tree.
    keys.put(bytes_of(next), ids[k], MDB_APPEND);
    out[k] = next++;
  }
  return out;
}

std::vector<std::string> load_id_strings(const Database& db, const Txn& txn, IdKind kind) {
  std::vector<std::string> out(id_count(db, txn, kind));
  Cursor cur = Cursor::open(txn, keys_table(db, kind));
  std::string_view key, value;
  for (bool ok = cur.get(key, value, MDB_FIRST); ok; ok = cur.get(key, value, MDB_NEXT)) {
    auto index = load<std::uint32_t>(key);
    if (index >= out.size()) throw std::runtime_error("corrupt id map: index beyond the id count");
    out[index] = std::string(value);
  }
  return out;
}

IdIndexMap load_id_index(const Database& db, const Txn& txn, IdKind kind) {
  IdIndexMap out;
  out.reserve(id_count(db, txn, kind));
  Cursor cur = Cursor::open(txn, ids_table(db, kind));
  std::string_view key, value;
  for (bool ok = cur.get(key, value, MDB_FIRST); ok; ok = cur.get(key, value, MDB_NEXT)) {
    out.emplace(std::string(key), from_le(value));
  }
  return out;
}

}  // namespace recsys::store
