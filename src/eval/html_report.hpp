// `recsys train --report FILE`: the dashboard's overview (model card, metrics
// against the baseline, training curve, data statistics) as one self-contained
// HTML file, for a person who trains where no server runs. The styles and
// scripts are the dashboard's own (ui/assets.hpp), inlined; the model is
// embedded as JSON; the file loads nothing from anywhere (docs/dashboard.md).
#pragma once

#include <string>
#include <string_view>

namespace recsys::eval {

// `model_json`: the object GET /v1/model answers for this generation.
std::string html_report(std::string_view model_json);

}  // namespace recsys::eval
