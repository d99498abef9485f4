// Reading factor matrices written by another engine, as Spark MLlib's ALS
// writes them: `model.userFactors.write.json(path)` gives JSON lines
// {"id":196,"features":[0.1,...]} in part files of a directory; CSV rows
// `id,f1,f2,...` (optional header; quoted as a ratings CSV) are accepted too.
// Files may be .gz or .zst.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recsys::data {

struct ExternalFactors {
  std::vector<std::string> ids;  // external ids, as text (Spark's integer ids become "196")
  std::uint32_t cols = 0;        // factors per row
  std::vector<float> data;       // ids.size() * cols, row-major
};

// What the caller can store and score (model::kMaxFactors and
// model::kMaxFactorMagnitude for import-factors).
struct FactorLimits {
  std::uint32_t max_cols = 0;  // features per row
  float max_magnitude = 0;     // |feature|
};

// Reads a file, or every part file of a directory (names starting with "part-",
// or all regular files not starting with '.' or '_' when there are none).
// Throws with file:line on malformed rows, rows of different widths or wider
// than the limit, values that are not finite or beyond the limit, ids that
// cannot be stored (empty, too long, not UTF-8), duplicate ids, or no rows.
ExternalFactors read_factor_files(const std::string& path, const FactorLimits& limits);

// Replaces each id by the original id it stands for, from a map file (or a
// directory of part files) of lines `original_id,index` (CSV, or tab-separated
// when the first line has a tab; optional header; an index may be "3.0") such
// as a Spark StringIndexer's labels written out with their indexes. Throws when an id has
// no entry, or with file:line when the file is malformed: an index or an
// original id given twice, or an original id that cannot be stored.
void map_factor_ids(ExternalFactors& factors, const std::string& map_path);

}  // namespace recsys::data
