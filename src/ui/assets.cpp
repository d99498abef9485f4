#include "ui/assets.hpp"

#include <stdexcept>
#include <string>

namespace recsys::ui {

const Asset* find_asset(std::string_view name) {
  for (const auto& a : all_assets())
    if (a.name == name) return &a;
  return nullptr;
}

std::string_view asset_body(std::string_view name) {
  const Asset* a = find_asset(name);
  if (!a) throw std::logic_error("no embedded asset " + std::string(name));
  return a->body;
}

}  // namespace recsys::ui
