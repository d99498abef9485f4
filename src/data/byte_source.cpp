#include "data/byte_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "data/chunk_parser.hpp"  // is_valid_utf8

namespace recsys::data {

namespace {

// A file descriptor with a small look-ahead buffer so the magic bytes can be
// inspected without seeking (stdin may be a pipe).
class FdReader {
 public:
  FdReader(int fd, bool owned, std::string name) : fd_(fd), owned_(owned), name_(std::move(name)) {}
  ~FdReader() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  FdReader(const FdReader&) = delete;
  FdReader& operator=(const FdReader&) = delete;

  std::size_t read(char* buf, std::size_t n) {
    std::size_t got = 0;
    if (peek_pos_ < peek_.size()) {
      got = std::min(n, peek_.size() - peek_pos_);
      std::memcpy(buf, peek_.data() + peek_pos_, got);
      peek_pos_ += got;
      if (got == n) return got;
    }
    for (;;) {
      ssize_t r = ::read(fd_, buf + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("cannot read " + name_ + ": " + std::strerror(errno));
      }
      position_ += static_cast<std::uint64_t>(r);
      return got + static_cast<std::size_t>(r);
    }
  }
  // The first bytes of the stream, without consuming them.
  std::string_view peek(std::size_t n) {
    while (peek_.size() < n) {
      char tmp[64];
      ssize_t r = ::read(fd_, tmp, std::min(sizeof tmp, n - peek_.size()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw std::runtime_error("cannot read " + name_ + ": " + std::strerror(errno));
      if (r == 0) break;
      position_ += static_cast<std::uint64_t>(r);
      peek_.append(tmp, static_cast<std::size_t>(r));
    }
    return peek_;
  }
  std::uint64_t position() const { return position_; }

 private:
  int fd_;
  bool owned_;
  std::string name_;
  std::string peek_;
  std::size_t peek_pos_ = 0;
  std::uint64_t position_ = 0;
};

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(std::unique_ptr<FdReader> in) : in_(std::move(in)) {}
  std::size_t read(char* buf, std::size_t n) override { return in_->read(buf, n); }
  std::uint64_t position() const override { return in_->position(); }

 private:
  std::unique_ptr<FdReader> in_;
};

constexpr std::size_t kInBlock = std::size_t{1} << 20;

class GzipSource : public ByteSource {
 public:
  // `format` names the data in messages: "gzip", or "zlib" for a zlib stream.
  GzipSource(std::unique_ptr<FdReader> in, const char* format) : in_(std::move(in)), inbuf_(kInBlock), format_(format) {
    std::memset(&zs_, 0, sizeof zs_);
    // 15 + 32: a zlib or gzip header, detected automatically.
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) throw std::runtime_error("zlib: cannot initialise inflate");
  }
  ~GzipSource() override { inflateEnd(&zs_); }

  std::size_t read(char* buf, std::size_t n) override {
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    while (zs_.avail_out > 0 && !done_) {
      if (zs_.avail_in == 0) {
        std::size_t got = in_->read(inbuf_.data(), inbuf_.size());
        if (got == 0) {
          if (!at_member_start_) throw std::runtime_error(name_ + ": truncated " + format_ + " data");
          done_ = true;
          break;
        }
        zs_.next_in = reinterpret_cast<Bytef*>(inbuf_.data());
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (at_member_start_ && members_ > 0) {
        // Zero bytes after a whole member (a tape block or a dd-padded
        // file) end the data, as gzip(1) reads them; anything after them is
        // not padding.
        while (zs_.avail_in > 0 && *zs_.next_in == 0) {
          ++zs_.next_in;
          --zs_.avail_in;
          zero_padded_ = true;
        }
        if (zs_.avail_in == 0) continue;
        if (zero_padded_) throw std::runtime_error(name_ + ": corrupt " + format_ + " data (bytes after the zero padding that ends it)");
      }
      at_member_start_ = false;
      int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members (as `cat a.gz b.gz`) form one stream.
        inflateReset(&zs_);
        at_member_start_ = true;
        ++members_;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw std::runtime_error(name_ + ": corrupt " + format_ + " data (" + (zs_.msg ? zs_.msg : "inflate failed") + ")");
      }
    }
    return static_cast<std::size_t>(reinterpret_cast<char*>(zs_.next_out) - buf);
  }
  std::uint64_t position() const override { return in_->position(); }

 private:
  std::unique_ptr<FdReader> in_;
  std::vector<char> inbuf_;
  std::string format_;
  z_stream zs_;
  bool done_ = false;
  bool at_member_start_ = true;
  std::size_t members_ = 0;   // whole members read
  bool zero_padded_ = false;  // zero bytes seen after the last member
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<FdReader> in)
      : in_(std::move(in)), inbuf_(ZSTD_DStreamInSize()), ds_(ZSTD_createDStream()) {
    if (!ds_) throw std::runtime_error("zstd: cannot create a decompression stream");
    ZSTD_initDStream(ds_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(ds_); }

  std::size_t read(char* buf, std::size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos < out.size) {
      if (in_pos_ == in_size_) {
        in_size_ = in_->read(inbuf_.data(), inbuf_.size());
        in_pos_ = 0;
        if (in_size_ == 0) {
          if (!frame_done_) throw std::runtime_error(name_ + ": truncated zstd data");
          break;
        }
      }
      ZSTD_inBuffer inb{inbuf_.data(), in_size_, in_pos_};
      std::size_t rc = ZSTD_decompressStream(ds_, &out, &inb);
      in_pos_ = inb.pos;
      if (ZSTD_isError(rc)) {
        throw std::runtime_error(name_ + ": corrupt zstd data (" + ZSTD_getErrorName(rc) + ")");
      }
      frame_done_ = rc == 0;
    }
    return out.pos;
  }
  std::uint64_t position() const override { return in_->position(); }

 private:
  std::unique_ptr<FdReader> in_;
  std::vector<char> inbuf_;
  std::size_t in_pos_ = 0;
  std::size_t in_size_ = 0;
  ZSTD_DStream* ds_;
  bool frame_done_ = true;
};

// A zlib stream (RFC 1950; Spark's and Hadoop's "deflate" codec): 0x78 (deflate,
// 32 KiB window) and a check byte making the pair a multiple of 31. By the
// bytes alone only the levels whose check byte is not text (0x78 0x5E, levels
// 2-5, is "x^"); any level in a file named .deflate or .zz. GzipSource reads
// it: inflate detects zlib and gzip headers alike.
bool zlib_stream(std::string_view magic, const std::string& path) {
  if (magic.size() < 2 || magic[0] != '\x78') return false;
  const auto second = static_cast<unsigned char>(magic[1]);
  if (second == 0x01 || second == 0x9c || second == 0xda) return true;
  return (0x7800 + second) % 31 == 0 && (path.ends_with(".deflate") || path.ends_with(".zz"));
}

// Whether the first bytes cannot be the start of a text file: a control byte
// other than tab and line ends, or bytes that are not UTF-8 (a sequence cut by
// the end of the peek is not held against them).
bool binary_start(std::string_view magic) {
  if (std::any_of(magic.begin(), magic.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 && u != '\t' && u != '\n' && u != '\r';
      })) {
    return true;
  }
  for (std::size_t cut = 0; cut <= 3 && cut <= magic.size(); ++cut) {
    if (is_valid_utf8(magic.substr(0, magic.size() - cut))) return false;
  }
  return true;
}

// The compression of a file recsys does not read, by its magic bytes, or for
// Hadoop's codecs without magic (Spark's "snappy", "lz4") by its name when its
// first bytes are not text; empty when it is none of them. Read as text, such
// a file gave a screen of malformed rows or "not a number" messages quoting
// binary bytes.
std::string unsupported_compression(std::string_view magic, const std::string& path) {
  auto starts = [&](std::string_view m) { return magic.substr(0, m.size()) == m; };
  // bzip2: "BZh", the block size, then a block's magic (the digits of pi) or
  // the end's (of sqrt(pi)): a CSV whose first id is "BZh1" is text.
  if (starts("BZh") && magic.size() >= 10 && magic[3] >= '1' && magic[3] <= '9' &&
      (magic.substr(4, 6) == "\x31\x41\x59\x26\x53\x59" || magic.substr(4, 6) == "\x17\x72\x45\x38\x50\x90")) {
    return "bzip2";
  }
  if (starts(std::string_view("\xFD" "7zXZ\0", 6))) return "xz";
  if (starts(std::string_view("\x04\x22\x4D\x18", 4))) return "lz4";
  if (starts(std::string_view("PK\x03\x04", 4))) return "zip";
  if (!binary_start(magic)) return {};
  for (std::string_view ext : {".snappy", ".lz4", ".bz2", ".xz", ".zip", ".br", ".lzo"}) {
    if (path.ends_with(ext)) return std::string(ext.substr(1)) + " (by its name; its first bytes are not text)";
  }
  return {};
}

}  // namespace

std::unique_ptr<ByteSource> open_source(const std::string& path) {
  std::unique_ptr<FdReader> in;
  std::uint64_t total = 0;
  std::string name = path == "-" ? "<stdin>" : path;
  if (path == "-") {
    in = std::make_unique<FdReader>(STDIN_FILENO, false, name);
  } else {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw std::runtime_error("cannot read " + path + ": it is a directory");
      }
      if (S_ISREG(st.st_mode)) total = static_cast<std::uint64_t>(st.st_size);
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    in = std::make_unique<FdReader>(fd, true, name);
  }
  std::string_view magic = in->peek(10);
  std::unique_ptr<ByteSource> source;
  if (magic.size() >= 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
      static_cast<unsigned char>(magic[1]) == 0x8b) {
    source = std::make_unique<GzipSource>(std::move(in), "gzip");
  } else if (zlib_stream(magic, path)) {
    source = std::make_unique<GzipSource>(std::move(in), "zlib");
  } else if (magic.size() >= 4 && (magic.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4) ||
                                    // A skippable frame (RFC 8878 3.1.2: 0x184D2A50-5F, little-endian)
                                    // may come first, as pzstd writes.
                                    ((static_cast<unsigned char>(magic[0]) & 0xf0) == 0x50 &&
                                     magic.substr(1, 3) == std::string_view("\x2a\x4d\x18", 3)))) {
    source = std::make_unique<ZstdSource>(std::move(in));
  } else if (auto kind = unsupported_compression(magic, path); !kind.empty()) {
    throw std::runtime_error("cannot read " + name + ": it is compressed with " + kind +
                             "; recsys reads gzip (.gz), zlib (.deflate) and Zstandard (.zst) files: decompress it or "
                             "compress it with gzip or zstd");
  } else {
    source = std::make_unique<PlainSource>(std::move(in));
  }
  source->name_ = name;
  source->total_ = total;
  return source;
}

std::size_t read_full(ByteSource& source, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = source.read(buf + got, n - got);
    if (r == 0) break;
    got += r;
  }
  return got;
}

}  // namespace recsys::data
