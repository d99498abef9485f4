// `recsys train --report FILE`: the dashboard's overview (model card, metrics
// against the baseline, training curve, data statistics) as one self-contained
// HTML file, for a person who trains where no server runs. The styles and
// scripts are the dashboard's own (ui/assets.hpp), inlined; the model is
// embedded as JSON; the file loads nothing from anywhere (docs/dashboard.md).
#pragma once

#include <string>
#include <string_view>

namespace recsys::eval {

// `model_json`: the generation's object as GET /v1/model builds it (the
// generation, then the stored description); embedded as that route shows it,
// through model::public_description.
std::string html_report(std::string_view model_json);

}  // namespace recsys::eval
