#include "util/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace recsys::util {

namespace {

std::runtime_error cannot_write(const std::string& path, int err) {
  return std::runtime_error("cannot write " + path + ": " + std::strerror(err));
}

// Writes all of `text` to `path` (created or truncated); errno on failure.
int write_whole(const std::string& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return errno;
  // Buffered: a full disk may only show at the flush or the close.
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  int err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  return ok ? 0 : (err != 0 ? err : EIO);
}

}  // namespace

void write_file(const std::string& path, std::string_view text) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status)) {
    // A device or a pipe (/dev/stdout, /dev/full): written in place.
    if (int err = write_whole(path, text)) throw cannot_write(path, err);
    return;
  }
  // A regular file is replaced whole or not at all: a failed write (a full
  // disk) leaves the previous report, not a truncated one.
  const std::string tmp = path + ".tmp";
  if (int err = write_whole(tmp, text)) {
    std::remove(tmp.c_str());
    throw cannot_write(path, err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw cannot_write(path, err);
  }
}

void check_writable(const std::string& path, std::string_view what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  const auto status = fs::status(p, ec);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  // A device is written in place; a file is written beside it and renamed
  // over it, which takes a writable directory (and nothing is created here).
  const bool ok = !ec && fs::exists(status) && !fs::is_regular_file(status)
                      ? ::access(p.c_str(), W_OK) == 0
                      : ::access(dir.c_str(), W_OK | X_OK) == 0 &&
                            (!fs::exists(status) || ::access(p.c_str(), W_OK) == 0);
  if (!ok) {
    throw std::runtime_error("cannot write " + std::string(what) + " to " + path +
                             ": check the directory exists and is writable");
  }
}

}  // namespace recsys::util
