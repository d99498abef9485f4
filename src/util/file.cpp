#include "util/file.hpp"

#include <fcntl.h>
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

}  // namespace

std::filesystem::path follow_links(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  fs::path p = path;
  std::error_code ec;
  for (int hops = 0; hops < 40 && fs::is_symlink(fs::symlink_status(p, ec)); ++hops) {
    fs::path target = fs::read_symlink(p, ec);
    if (ec) break;
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  return p;
}

namespace {
// /dev/stdout, /dev/fd/3, /proc/self/fd/1: a stream the caller opened, written
// in place whatever it is. Redirected to a file (`-o /dev/stdout >> log`) it
// must not be replaced by a new file.
bool names_a_stream(const std::filesystem::path& path) {
  const std::string s = path.lexically_normal().string();
  return s.rfind("/dev/", 0) == 0 || s.rfind("/proc/", 0) == 0;
}
}  // namespace

std::filesystem::path output_target(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  if (names_a_stream(path)) return path;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return follow_links(path);  // new, or a link to a file to be made
  // A device or a pipe is opened by the name given: /dev/stdout's link text
  // is /proc/self/fd/1, whose own is "pipe:[N]", no path.
  if (!fs::is_regular_file(status)) return path;
  auto target = fs::canonical(path, ec);
  return ec ? path : target;
}

std::string output_temporary(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string target = output_target(path).string();
  std::error_code ec;
  const auto status = fs::status(target, ec);
  // A device or a pipe is written in place; a regular file is replaced whole
  // or not at all: a failed write (a full disk) leaves the previous content.
  if (!names_a_stream(path) && (ec || !fs::exists(status) || fs::is_regular_file(status))) return target + ".tmp";
  return {};
}

OutputFile::OutputFile(const std::string& path) : path_(path), target_(output_target(path).string()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(target_, ec);
  if (!ec && fs::is_directory(status)) throw cannot_write(path_, EISDIR);
  tmp_ = output_temporary(path);
  // In place: appended, never truncated. /dev/stdout reopened with "wb" cut
  // the file it was redirected to (`>> log` lost the log, and what the
  // command had already printed was lost too).
  file_ = tmp_.empty() ? std::fopen(target_.c_str(), "ab") : std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw cannot_write(path_, errno);
}

OutputFile::~OutputFile() {
  if (file_) std::fclose(file_);
  if (!tmp_.empty() && !committed_) std::remove(tmp_.c_str());
}

void OutputFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) throw cannot_write(path_, errno ? errno : EIO);
}

void OutputFile::commit() {
  // Buffered: a full disk may only show at the flush or the close. A file
  // to be renamed is synced first: renamed unsynced, a power loss could
  // leave TARGET empty or cut short (XFS, ext4 with noauto_da_alloc), where
  // the rule is the previous content or the new one.
  const bool flushed = std::fflush(file_) == 0 && (tmp_.empty() || ::fsync(::fileno(file_)) == 0);
  int err = errno;
  const bool closed = std::fclose(file_) == 0;
  if (flushed && !closed) err = errno;
  file_ = nullptr;
  if (!flushed || !closed) throw cannot_write(path_, err != 0 ? err : EIO);
  if (tmp_.empty()) {
    committed_ = true;
    return;
  }
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0) throw cannot_write(path_, errno);
  committed_ = true;
  // The new name reaches the disk too. Best effort: the file is whole and in
  // place by now.
  sync_directory(std::filesystem::path(target_).parent_path());
}

int sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int rc = fd < 0 ? -1 : ::fsync(fd);
  const int error = rc == 0 ? 0 : errno;
  if (fd >= 0) ::close(fd);
  return error;
}

void write_file(const std::string& path, std::string_view text) {
  OutputFile out(path);
  out.write(text);
  out.commit();
}

void check_writable(const std::string& path, std::string_view what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p = output_target(path);
  const auto status = fs::status(p, ec);
  if (!ec && fs::is_directory(status))
    throw std::runtime_error("cannot write " + std::string(what) + " to " + path + ": it is a directory");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  // A device is written in place; a file is written beside it and renamed
  // over it, which takes a writable directory (and nothing is created here).
  const bool ok = (names_a_stream(p) || (!ec && fs::exists(status) && !fs::is_regular_file(status)))
                      ? ::access(p.c_str(), W_OK) == 0
                      : ::access(dir.c_str(), W_OK | X_OK) == 0 &&
                            (!fs::exists(status) || ::access(p.c_str(), W_OK) == 0);
  if (!ok) {
    throw std::runtime_error("cannot write " + std::string(what) + " to " + path +
                             ": check the directory exists and is writable");
  }
}

}  // namespace recsys::util
