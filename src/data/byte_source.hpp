// Where rating bytes come from: a plain file, standard input ("-"), or a
// gzip (.gz, zlib) or Zstandard (.zst, libzstd streaming) compressed file,
// read in large blocks so parsing never waits on small reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace recsys::data {

class ByteSource;
std::unique_ptr<ByteSource> open_source(const std::string& path);

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` decompressed bytes; 0 means the end of the data.
  virtual std::size_t read(char* buf, std::size_t n) = 0;
  // Raw (possibly compressed) bytes consumed so far, for progress.
  virtual std::uint64_t position() const = 0;
  // Raw size when known (regular files), else 0.
  std::uint64_t total() const { return total_; }
  const std::string& name() const { return name_; }

 protected:
  friend std::unique_ptr<ByteSource> open_source(const std::string& path);
  std::string name_;
  std::uint64_t total_ = 0;
};

// Opens `path` ("-" is standard input); the compression is chosen by the
// file's magic bytes (gzip 1f 8b, zstd 28 b5 2f fd), so a misnamed file or a
// compressed stdin still works. Throws with an actionable message.
std::unique_ptr<ByteSource> open_source(const std::string& path);

// Fills `buf` with up to `n` bytes, calling read() until full or at the end.
std::size_t read_full(ByteSource& source, char* buf, std::size_t n);

}  // namespace recsys::data
