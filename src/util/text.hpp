// Text for a terminal: stored strings (ids, titles, item fields) may hold any
// valid UTF-8, including control characters that a terminal would act on.
#pragma once

#include <string>
#include <string_view>

namespace recsys::util {

// `s` with C0 control characters and DEL written as \xNN and the C1 controls
// (U+0080 to U+009F) as \u00NN; everything else, other UTF-8 included, unchanged.
// For text output only: JSON output escapes by its own rules.
std::string terminal_safe(std::string_view s);

}  // namespace recsys::util
