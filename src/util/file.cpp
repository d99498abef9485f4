#include "util/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace recsys::util {

void write_file(const std::string& path, std::string_view text) {
  auto fail = [&](int err) {
    return std::runtime_error("cannot write " + path + ": " + std::strerror(err));
  };
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw fail(errno);
  // Buffered: a full disk may only show at the flush or the close.
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  int err = errno;
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) throw fail(err);
}

}  // namespace recsys::util
