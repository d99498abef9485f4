// Writing a whole small file (a metrics report) so that a full disk or an
// unwritable target is an error, not an empty file and exit 0: every write,
// the flush and the close are checked.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace recsys::util {

// `path` with symbolic links in its last component followed, dangling ones
// too (to the path their target names). Output written beside a link and
// renamed over it replaced the link by a file (and a device's link, such as
// /dev/stdout, by a file in /dev); the target is what a user means.
std::filesystem::path follow_links(const std::filesystem::path& path);

// Where output named `path` goes: a path under /dev or /proc, a device or a
// pipe by the name given; an existing regular file's real path (links
// followed); else the path a link names (follow_links).
std::filesystem::path output_target(const std::filesystem::path& path);

// An output file opened for writing: a regular file is written as
// TARGET.tmp and renamed over TARGET by commit(), so a failure leaves the
// previous content; a device or a pipe (/dev/full), and any path under /dev
// or /proc (/dev/stdout redirected to a file too), is written in place. TARGET is `path` with its links followed. Every write, the flush
// and the close are checked: "cannot write PATH: reason".
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();  // without commit(): the temporary file is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write(std::string_view bytes);
  void commit();

 private:
  std::string path_;    // as given, for messages
  std::string target_;  // links followed
  std::string tmp_;     // empty when written in place
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// The file an OutputFile for `path` writes until its commit renames it over
// the target (TARGET.tmp), or empty when it writes in place; known before the
// OutputFile creates it, for a guard that removes it on a signal.
std::string output_temporary(const std::string& path);

// Flushes the directory `dir` (empty: ".") so that names made or renamed in
// it reach the disk; 0, or the errno of the failure (some file systems refuse:
// EINVAL on FUSE and network mounts).
int sync_directory(const std::filesystem::path& dir);

// Writes `text` to `path` through an OutputFile.
void write_file(const std::string& path, std::string_view text);

// Throws "cannot write WHAT to PATH: check the directory exists and is
// writable" unless write_file(path) could create or replace it. Creates
// nothing (a command that fails later leaves no empty report behind).
void check_writable(const std::string& path, std::string_view what);

}  // namespace recsys::util
