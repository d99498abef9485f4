// Writing a whole small file (a metrics report) so that a full disk or an
// unwritable target is an error, not an empty file and exit 0: every write,
// the flush and the close are checked.
#pragma once

#include <string>
#include <string_view>

namespace recsys::util {

// Writes `text` to `path` (created or truncated). Throws std::runtime_error
// "cannot write PATH: reason" when any part fails.
void write_file(const std::string& path, std::string_view text);

}  // namespace recsys::util
