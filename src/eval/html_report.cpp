#include "eval/html_report.hpp"

#include "model/description.hpp"
#include "ui/assets.hpp"

namespace recsys::eval {

namespace {

// JSON inside <script type="application/json">: "<" only occurs inside JSON
// strings, where \u003c means the same and can never close the element.
void append_embedded_json(std::string& out, std::string_view json) {
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string html_report(std::string_view model_json) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>recsys training report</title>\n<style>\n";
  out += ui::asset_body("style.css");
  out += "</style>\n</head>\n<body>\n<header class=\"top\"><span class=\"brand\">recsys</span>"
         "<span class=\"muted\">training report</span></header>\n<main id=\"app\"></main>\n"
         "<script type=\"application/json\" id=\"recsys-model\">";
  append_embedded_json(out, model::public_description(model_json));  // as GET /v1/model shows it
  out += "</script>\n<script>\n";
  out += ui::asset_body("charts.js");
  out += '\n';
  out += ui::asset_body("overview.js");
  out +=
      "\nRecsysOverview.render(document.getElementById('app'),"
      " JSON.parse(document.getElementById('recsys-model').textContent));\n</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace recsys::eval
