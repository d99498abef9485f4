#include "store/models.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace recsys::store {

namespace {

constexpr std::string_view kServingKey = "serving_model";
constexpr std::string_view kLastKey = "last_generation";

// Factor rows: (u32 BE generation, u8 side, u32 BE row). Big-endian so that one
// generation's rows of one side are contiguous and in row order for a cursor scan.
using FactorKey = std::array<char, 9>;

void put_be32(char* out, std::uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

std::uint32_t get_be32(const char* in) {
  auto b = reinterpret_cast<const unsigned char*>(in);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

FactorKey factor_key(std::uint32_t generation, Side side, std::uint32_t row) {
  FactorKey k;
  put_be32(k.data(), generation);
  k[4] = static_cast<char>(side);
  put_be32(k.data() + 5, row);
  return k;
}

std::string_view view(const FactorKey& k) { return {k.data(), k.size()}; }

void put_rows(const Database& db, const Txn& txn, std::uint32_t generation, Side side, const FactorMatrix& m) {
  if (m.data.size() != std::size_t{m.rows} * m.cols) throw std::invalid_argument("factor matrix size mismatch");
  Cursor cursor = Cursor::open(txn, db.tables().factors);
  for (std::uint32_t r = 0; r < m.rows; ++r) {
    auto key = factor_key(generation, side, r);
    std::string_view row(reinterpret_cast<const char*>(m.data.data() + std::size_t{r} * m.cols),
                         std::size_t{m.cols} * sizeof(float));
    cursor.put(view(key), row);
  }
}

}  // namespace

std::uint32_t save_model(const Database& db, const Txn& txn, std::string_view description,
                         const FactorMatrix& users, const FactorMatrix& items) {
  if (users.cols != items.cols) throw std::invalid_argument("user and item factors differ in width");
  std::uint32_t generation = db.meta_u32(txn, kLastKey).value_or(0) + 1;
  if (auto last = latest_model(db, txn)) generation = std::max(generation, last->generation + 1);
  db.put_meta_u32(txn, kLastKey, generation);
  db.tables().models.put(txn, bytes_of(generation), description);
  put_rows(db, txn, generation, Side::Users, users);
  put_rows(db, txn, generation, Side::Items, items);
  return generation;
}

std::optional<ModelRecord> find_model(const Database& db, const Txn& txn, std::uint32_t generation) {
  auto v = db.tables().models.get(txn, bytes_of(generation));
  if (!v) return std::nullopt;
  return ModelRecord{generation, std::string(*v)};
}

std::optional<ModelRecord> latest_model(const Database& db, const Txn& txn) {
  Cursor cursor = Cursor::open(txn, db.tables().models);
  std::string_view k, v;
  if (!cursor.get(k, v, MDB_LAST)) return std::nullopt;
  return ModelRecord{load<std::uint32_t>(k), std::string(v)};
}

std::vector<ModelRecord> list_models(const Database& db, const Txn& txn) {
  std::vector<ModelRecord> out;
  Cursor cursor = Cursor::open(txn, db.tables().models);
  std::string_view k, v;
  for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
    out.push_back(ModelRecord{load<std::uint32_t>(k), std::string(v)});
  }
  return out;
}

void update_model_description(const Database& db, const Txn& txn, std::uint32_t generation,
                              std::string_view description) {
  if (!db.tables().models.get(txn, bytes_of(generation))) {
    throw std::runtime_error("no model generation " + std::to_string(generation));
  }
  db.tables().models.put(txn, bytes_of(generation), description);
}

void delete_model(const Database& db, const Txn& txn, std::uint32_t generation) {
  if (serving_generation(db, txn) == generation) {
    throw std::runtime_error("model generation " + std::to_string(generation) +
                             " is the one being served: precompute another generation first");
  }
  if (!db.tables().models.del(txn, bytes_of(generation))) {
    throw std::runtime_error("no model generation " + std::to_string(generation));
  }
  char prefix[4];
  put_be32(prefix, generation);
  Cursor cursor = Cursor::open(txn, db.tables().factors);
  std::string_view k(prefix, 4), v;
  for (bool ok = cursor.get(k, v, MDB_SET_RANGE); ok && k.size() == 9 && get_be32(k.data()) == generation;
       ok = cursor.get(k, v, MDB_GET_CURRENT)) {
    cursor.del();  // the cursor moves to the next entry
  }
}

std::vector<std::uint32_t> prune_models(const Database& db, const Txn& txn, std::size_t keep) {
  auto models = list_models(db, txn);
  auto serving = serving_generation(db, txn);
  std::vector<std::uint32_t> deleted;
  for (std::size_t i = 0; i + keep < models.size(); ++i) {
    if (models[i].generation == serving) continue;
    delete_model(db, txn, models[i].generation);
    deleted.push_back(models[i].generation);
  }
  return deleted;
}

FactorMatrix load_factors(const Database& db, const Txn& txn, std::uint32_t generation, Side side) {
  FactorMatrix m;
  auto start = factor_key(generation, side, 0);
  Cursor cursor = Cursor::open(txn, db.tables().factors);
  std::string_view k = view(start), v;
  for (bool ok = cursor.get(k, v, MDB_SET_RANGE); ok; ok = cursor.get(k, v, MDB_NEXT)) {
    if (k.size() != 9 || get_be32(k.data()) != generation || k[4] != static_cast<char>(side)) break;
    std::uint32_t row = get_be32(k.data() + 5);
    if (v.size() % sizeof(float) != 0) throw std::runtime_error("corrupt factor row in the database");
    auto cols = static_cast<std::uint32_t>(v.size() / sizeof(float));
    if (m.cols == 0) m.cols = cols;
    if (cols != m.cols) throw std::runtime_error("factor rows of different widths in the database");
    if (row >= m.rows) {
      m.rows = row + 1;
      m.data.resize(std::size_t{m.rows} * m.cols, 0.0f);  // rows never written stay zero
    }
    std::memcpy(m.data.data() + std::size_t{row} * m.cols, v.data(), v.size());
  }
  return m;
}

std::optional<std::vector<float>> load_factor_row(const Database& db, const Txn& txn, std::uint32_t generation,
                                                  Side side, std::uint32_t row) {
  auto key = factor_key(generation, side, row);
  auto v = db.tables().factors.get(txn, view(key));
  if (!v) return std::nullopt;
  std::vector<float> out(v->size() / sizeof(float));
  std::memcpy(out.data(), v->data(), out.size() * sizeof(float));
  return out;
}

void put_factor_row(const Database& db, const Txn& txn, std::uint32_t generation, Side side, std::uint32_t row,
                    std::span<const float> values) {
  auto key = factor_key(generation, side, row);
  db.tables().factors.put(txn, view(key),
                          {reinterpret_cast<const char*>(values.data()), values.size_bytes()});
}

void put_user_fingerprints(const Database& db, const Txn& txn, std::uint32_t generation,
                           std::span<const std::uint64_t> fingerprints) {
  auto key = factor_key(generation, static_cast<Side>(kFingerprintSide), 0);
  db.tables().factors.put(txn, view(key),
                          {reinterpret_cast<const char*>(fingerprints.data()), fingerprints.size_bytes()});
}

std::vector<std::uint64_t> load_user_fingerprints(const Database& db, const Txn& txn, std::uint32_t generation) {
  auto key = factor_key(generation, static_cast<Side>(kFingerprintSide), 0);
  auto v = db.tables().factors.get(txn, view(key));
  std::vector<std::uint64_t> out;
  if (!v) return out;
  if (v->size() % sizeof(std::uint64_t) != 0) return out;  // damaged: as if absent (recsys check reports it)
  out.resize(v->size() / sizeof(std::uint64_t));
  if (!out.empty()) std::memcpy(out.data(), v->data(), v->size());  // LMDB values are not 8-byte aligned
  return out;
}

std::optional<std::uint32_t> serving_generation(const Database& db, const Txn& txn) {
  return db.meta_u32(txn, kServingKey);
}

void set_serving_generation(const Database& db, const Txn& txn, std::uint32_t generation) {
  // Checked in the writer's transaction: a `models delete` or `train --keep`
  // that committed while precompute ranked from its snapshot would otherwise
  // leave serving on a generation whose factors are gone.
  if (!db.tables().models.get(txn, bytes_of(generation))) {
    throw std::runtime_error(fmt::format(
        "model generation {} is no longer stored (deleted by another process while this ran: recsys models delete "
        "or train --keep): serving was not switched, nothing was written",
        generation));
  }
  db.put_meta_u32(txn, kServingKey, generation);
}

}  // namespace recsys::store
