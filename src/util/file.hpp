// Writing a whole small file (a metrics report) so that a full disk or an
// unwritable target is an error, not an empty file and exit 0: every write,
// the flush and the close are checked.
#pragma once

#include <string>
#include <string_view>

namespace recsys::util {

// Writes `text` to `path`. A regular file is written as PATH.tmp and renamed
// over PATH, so a failure leaves the previous content; a device (/dev/stdout)
// is written in place. Throws std::runtime_error "cannot write PATH: reason"
// when any part fails.
void write_file(const std::string& path, std::string_view text);

// Throws "cannot write WHAT to PATH: check the directory exists and is
// writable" unless write_file(path) could create or replace it. Creates
// nothing (a command that fails later leaves no empty report behind).
void check_writable(const std::string& path, std::string_view what);

}  // namespace recsys::util
