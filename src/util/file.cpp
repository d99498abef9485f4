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

OutputFile::OutputFile(const std::string& path) : path_(path), target_(follow_links(path).string()) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(target_, ec);
  if (!ec && fs::is_directory(status)) throw cannot_write(path_, EISDIR);
  // A device or a pipe is written in place; a regular file is replaced whole
  // or not at all: a failed write (a full disk) leaves the previous content.
  if (ec || !fs::exists(status) || fs::is_regular_file(status)) tmp_ = target_ + ".tmp";
  file_ = std::fopen((tmp_.empty() ? target_ : tmp_).c_str(), "wb");
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
  // Buffered: a full disk may only show at the flush or the close.
  const bool flushed = std::fflush(file_) == 0;
  int err = errno;
  const bool closed = std::fclose(file_) == 0;
  if (flushed && !closed) err = errno;
  file_ = nullptr;
  if (!flushed || !closed) throw cannot_write(path_, err != 0 ? err : EIO);
  if (!tmp_.empty() && std::rename(tmp_.c_str(), target_.c_str()) != 0) throw cannot_write(path_, errno);
  committed_ = true;
}

void write_file(const std::string& path, std::string_view text) {
  OutputFile out(path);
  out.write(text);
  out.commit();
}

void check_writable(const std::string& path, std::string_view what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p = follow_links(path);
  const auto status = fs::status(p, ec);
  if (!ec && fs::is_directory(status))
    throw std::runtime_error("cannot write " + std::string(what) + " to " + path + ": it is a directory");
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
