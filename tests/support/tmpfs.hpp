// A small tmpfs mounted for one test (a disk that fills up), unmounted at the
// end. Mounting needs root and CAP_SYS_ADMIN: elsewhere `mounted` is false and
// the test says it skipped.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace recsys::test {

class Tmpfs {
 public:
  // `size` as mount takes it: "16m", "512k".
  Tmpfs(const std::filesystem::path& at, const std::string& size) : path_(at) {
    std::filesystem::create_directories(path_);
    mounted_ = std::system(("mount -t tmpfs -o size=" + size + " tmpfs '" + path_.string() + "' 2>/dev/null").c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) std::system(("umount -l '" + path_.string() + "'").c_str());
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  // mounted(), and when not, the test's output says it skipped.
  bool usable() const {
    if (!mounted_) WARN("skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)");
    return mounted_;
  }
  const std::filesystem::path& path() const { return path_; }
  // Fills what is left with a file named filler (removed by free_space).
  void fill() const { std::system(("dd if=/dev/zero of='" + (path_ / "filler").string() + "' bs=4k 2>/dev/null").c_str()); }
  void free_space() const { std::filesystem::remove(path_ / "filler"); }
  // Leaves about `kib` KiB free.
  void fill_leaving(int kib) const {
    fill();
    std::filesystem::resize_file(path_ / "filler",
                                 std::filesystem::file_size(path_ / "filler") - static_cast<std::uintmax_t>(kib) * 1024);
  }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
};

}  // namespace recsys::test
