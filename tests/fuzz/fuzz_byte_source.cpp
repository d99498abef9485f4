// The gzip / zlib / zstd byte source (src/data/byte_source.*) through to the parser:
// the bytes are written to a rating file and read by read_rating_files, as
// `recsys import` does. Then the same bytes are compressed here as gzip (one
// and two members) and as zstd, and reading each of those files must give
// exactly the rows, counts and errors of the plain file.
#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "check.hpp"
#include "data/byte_source.hpp"
#include "data/rating_reader.hpp"
#include "gzip.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

namespace {

using namespace recsys;

const test::TempDir& temp() {
  static test::TempDir dir;
  return dir;
}

std::string zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  FUZZ_CHECK(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

// What reading a file gave: the rows and counts, or the error message.
struct Outcome {
  std::string error;
  data::RatingTable rows;
  std::uint64_t rows_read = 0, skipped = 0;
  std::vector<std::string> errors;

  bool operator==(const Outcome& o) const {
    return error == o.error && rows.users == o.rows.users && rows.items == o.rows.items &&
           rows.values == o.rows.values && rows.timestamps == o.rows.timestamps && rows_read == o.rows_read &&
           skipped == o.skipped && errors == o.errors;
  }
};

Outcome read_file(const std::string& path) {
  data::ReadOptions options;
  options.progress = false;
  options.chunk_bytes = 4096;  // the smallest block, so longer inputs cross block boundaries
  data::ReadResult result;
  Outcome o;
  try {
    data::read_rating_files({path}, options, result);
  } catch (const UsageError& e) {
    o.error = e.what();
    return o;
  } catch (const std::runtime_error& e) {
    o.error = e.what();
    FUZZ_CHECK(!o.error.empty());
    return o;
  }
  o.rows = std::move(result.rows);
  o.rows_read = result.rows_read;
  o.skipped = result.skipped;
  o.errors = std::move(result.errors);
  std::size_t n = o.rows.size();
  FUZZ_CHECK(n > 0 && o.rows.items.size() == n && o.rows.values.size() == n && o.rows.timestamps.size() == n);
  FUZZ_CHECK(o.rows_read == n + o.skipped);
  for (std::size_t r = 0; r < n; ++r) FUZZ_CHECK(o.rows.users[r] < o.rows.n_users && o.rows.items[r] < o.rows.n_items);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // One file name for all four, so error messages compare equal.
  static const std::string path = (temp() / "ratings").string();

  temp().write("ratings", bytes);
  Outcome raw = read_file(path);  // the fuzzer's bytes as they are: plain, .gz or .zst

  // The plain bytes compressed must read back the same. Bytes that are
  // themselves compressed decompress to something else, and bytes refused as
  // another compression (bzip2, xz, lz4, zip) are read as text once inside a
  // gzip: compare only plain text. zlib and a zstd skippable frame are read
  // by their magic too.
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const bool zlib = size >= 2 && data[0] == 0x78 && (data[1] == 0x01 || data[1] == 0x9c || data[1] == 0xda);
  const bool zstd_frame = size >= 4 && (bytes.substr(0, 4) == "\x28\xb5\x2f\xfd" ||
                                        ((data[0] & 0xf0) == 0x50 && bytes.substr(1, 3) == "\x2a\x4d\x18"));
  const bool refused = raw.error.find("it is compressed with") != std::string::npos;
  if (gzip || zlib || zstd_frame || refused) return 0;
  temp().write("ratings", test::gzip_member(bytes));
  FUZZ_CHECK(read_file(path) == raw);
  std::size_t half = size / 2;
  temp().write("ratings", test::gzip_member(bytes.substr(0, half)) + test::gzip_member(bytes.substr(half)));
  FUZZ_CHECK(read_file(path) == raw);
  temp().write("ratings", zstd(bytes));
  FUZZ_CHECK(read_file(path) == raw);
  return 0;
}
