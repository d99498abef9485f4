// Model generations in LMDB. A generation is a JSON description (parameters,
// metrics, training time, sizes) in `models`, plus one row of floats per user
// and per item in `factors`, keyed (u32 BE generation, u8 side, u32 BE row) so
// that one user's factors can be replaced by fold-in without rewriting the rest.
// A model fitted on every stored rating also keeps, under side 'h' row 0, one
// u64 per user: store::ratings_fingerprint of the ratings it was fitted on, so
// precompute can tell whose ratings changed since (events during training).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

enum class Side : std::uint8_t { Users = 'u', Items = 'i' };

// Row-major matrix of factors, rows = users or items, cols = factors.
struct FactorMatrix {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::vector<float> data;  // rows * cols
};

struct ModelRecord {
  std::uint32_t generation = 0;
  std::string description;  // JSON object (see docs/storage.md)
};

// Stores a new generation and returns its number: one past the highest ever
// stored (meta key last_generation), so a deleted number is never reused.
std::uint32_t save_model(const Database& db, const Txn& txn, std::string_view description,
                         const FactorMatrix& users, const FactorMatrix& items);
std::optional<ModelRecord> find_model(const Database& db, const Txn& txn, std::uint32_t generation);
std::optional<ModelRecord> latest_model(const Database& db, const Txn& txn);
std::vector<ModelRecord> list_models(const Database& db, const Txn& txn);
// Replaces the description (e.g. to attach metrics after a refit).
void update_model_description(const Database& db, const Txn& txn, std::uint32_t generation,
                              std::string_view description);
// Deletes a generation's description and factors (in the caller's transaction,
// so both go or neither). Throws for a missing generation and for the serving
// one: its factors are what fold-in and /v1/model read.
void delete_model(const Database& db, const Txn& txn, std::uint32_t generation);
// Deletes all but the `keep` newest generations, never the serving one;
// returns the deleted generation numbers, oldest first.
std::vector<std::uint32_t> prune_models(const Database& db, const Txn& txn, std::size_t keep);

FactorMatrix load_factors(const Database& db, const Txn& txn, std::uint32_t generation, Side side);
std::optional<std::vector<float>> load_factor_row(const Database& db, const Txn& txn, std::uint32_t generation,
                                                  Side side, std::uint32_t row);
void put_factor_row(const Database& db, const Txn& txn, std::uint32_t generation, Side side, std::uint32_t row,
                    std::span<const float> values);

// The fingerprints of the users' ratings the generation was fitted on, by
// user index (0: no ratings); empty when none were stored (a model fitted on a
// split, imported, or from an older version).
void put_user_fingerprints(const Database& db, const Txn& txn, std::uint32_t generation,
                           std::span<const std::uint64_t> fingerprints);
// A damaged row (not a whole number of u64) reads as none, as for a model from
// before them; recsys check reports it.
std::vector<std::uint64_t> load_user_fingerprints(const Database& db, const Txn& txn, std::uint32_t generation);
// The side byte of the fingerprint row in `factors` keys.
inline constexpr char kFingerprintSide = 'h';

// The generation the server answers from (set by precompute), if any.
std::optional<std::uint32_t> serving_generation(const Database& db, const Txn& txn);
// Throws when the generation is not stored (nothing is written then).
void set_serving_generation(const Database& db, const Txn& txn, std::uint32_t generation);

}  // namespace recsys::store
