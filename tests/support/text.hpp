// Small readers for what tests inspect: a whole file, a number in a JSON text.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace recsys::test {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The number after "key": in a JSON text (the first occurrence).
inline double json_number(const std::string& text, const std::string& key) {
  auto at = text.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::strtod(text.c_str() + at + key.size() + 3, nullptr);
}

}  // namespace recsys::test
