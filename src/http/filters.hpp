// Filtered list requests: ?genre=Comedy keeps items whose field has one of the
// given values, ?exclude_genre=Horror leaves them out (docs/serving.md,
// "Filters"). The precomputed bodies cannot answer these, so a filtered
// request walks the deeper candidates (store/candidates.hpp) and builds its
// body from them, as does a request with exclude= (the next candidates take
// the place of the excluded items); requests with neither never come here.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"
#include "store/candidates.hpp"
#include "store/database.hpp"

namespace recsys::http {

struct Filter {
  std::string field;                // a stored field name
  std::vector<std::string> values;  // any of them matches
  bool exclude = false;             // exclude_<field>=…
};

// Whether the query has parameters other than k and exclude (cheap: no decoding).
bool has_filters(std::string_view query);

// Parses every parameter except k and exclude as a filter on a stored item
// field (`field`, or its singular: genre for genres). On a bad parameter sets a
// 400 error on `r` and returns false.
bool parse_filters(std::string_view query, const store::Database& db, const store::Txn& txn,
                   std::vector<Filter>& out, Response& r);

// The list body with the first k candidates that pass `filters` (all do when
// there are none) and are not in `excluded` (JSON-quoted ids); fewer when
// fewer pass.
void append_filtered_body(std::string& out, const store::Database& db, const store::Txn& txn,
                          std::string_view key_name, std::string_view id, const store::Candidates& candidates,
                          std::size_t k, std::span<const std::string> excluded, std::span<const Filter> filters);

// Candidates for a key without its own record: the first `depth` entries of
// the stored fallback ranking, with the fallback list's generation.
std::optional<store::Candidates> fallback_candidates(const store::Database& db, const store::Txn& txn);

}  // namespace recsys::http
