// A fresh directory under $TMPDIR for one test, removed at the end.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace recsys::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "recsys-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  // Writes `content` to a file in the directory and returns its path.
  std::filesystem::path write(std::string_view name, std::string_view content) const {
    auto p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
    return p;
  }

 private:
  std::filesystem::path path_;
};

// ../shared/data of the source tree, or empty when it is not there (tests skip).
inline std::filesystem::path shared_data_dir() {
  const char* env = std::getenv("RECSYS_SHARED_DATA");
  if (!env || !*env) return {};
  std::filesystem::path p = env;
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) ? p : std::filesystem::path{};
}

}  // namespace recsys::test
