// The Spark factor reader (src/data/factor_reader.*): the bytes are one part
// file of a factor directory, then an id map file. Malformed input must be a
// std::runtime_error with a message (any other exception is a bug); accepted
// factors are a full ids × cols matrix (cols within the limit) of finite values
// within the limit, with distinct ids.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>

#include "check.hpp"
#include "data/factor_reader.hpp"
#include "model/params.hpp"
#include "temp_dir.hpp"

namespace {

using namespace recsys;

const test::TempDir& temp() {
  static test::TempDir dir;
  return dir;
}

constexpr data::FactorLimits kLimits{model::kMaxFactors, model::kMaxFactorMagnitude};

void check_factors(const data::ExternalFactors& f) {
  FUZZ_CHECK(!f.ids.empty() && f.cols > 0 && f.cols <= kLimits.max_cols);
  FUZZ_CHECK(f.data.size() == f.ids.size() * f.cols);
  for (float v : f.data) FUZZ_CHECK(std::isfinite(v) && std::fabs(v) <= kLimits.max_magnitude);
  std::unordered_set<std::string> seen(f.ids.begin(), f.ids.end());
  FUZZ_CHECK(seen.size() == f.ids.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  temp().write("part-00000", bytes);
  try {
    check_factors(data::read_factor_files(temp().path().string(), kLimits));
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }

  // The same bytes as an id map for factors with Spark's integer ids.
  data::ExternalFactors f;
  f.ids = {"0", "1", "2.0"};
  f.cols = 1;
  f.data = {0.5f, 1.5f, 2.5f};
  std::string map = temp().write("labels.csv", bytes).string();
  try {
    data::map_factor_ids(f, map);
    FUZZ_CHECK(f.ids.size() == 3 && f.data.size() == 3);
    FUZZ_CHECK(std::unordered_set<std::string>(f.ids.begin(), f.ids.end()).size() == 3);
  } catch (const std::runtime_error& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  }
  return 0;
}
