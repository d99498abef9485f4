// The documentation a user reads: no paths that exist only on a development
// machine, and the error codes the server really sends.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace {

std::filesystem::path source_root() {
  const char* env = std::getenv("RECSYS_SOURCE_ROOT");
  return env ? std::filesystem::path(env) : std::filesystem::path();
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the documentation cites public sources, not paths of a development machine") {
  auto root = source_root();
  REQUIRE(std::filesystem::exists(root / "docs"));
  std::size_t checked = 0;
  for (const char* dir : {"docs", "man", "examples", "packaging", "bench"}) {
    if (!std::filesystem::exists(root / dir)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / dir)) {
      auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".md" && ext != ".scd" && ext != ".sh" && ext != ".service")) continue;
      auto text = slurp(entry.path());
      for (const char* local : {"/work/", "/home/", "/Users/"}) {
        INFO(entry.path().string() << " mentions " << local);
        CHECK(text.find(local) == std::string::npos);
      }
      ++checked;
    }
  }
  CHECK(slurp(root / "README.md").find("/work/") == std::string::npos);
  REQUIRE(checked > 5);
}

TEST_CASE("docs/serving.md names the error code sent for too many events") {
  auto serving = slurp(source_root() / "docs" / "serving.md");
  // tests/http/event_values_test.cpp checks the server sends this code.
  REQUIRE(serving.find("413 `payload_too_large`") != std::string::npos);
  REQUIRE(serving.find("over 10 000 events") != std::string::npos);
}

TEST_CASE("the packaging's recipes that store ratings work on every run, not only the first") {
  // Without --append or --replace, import and train refuse a database that holds
  // ratings already, so a retrain recipe without them fails from its second run.
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_root() / "packaging")) {
    std::string text = slurp(entry.path()), command;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      command += line;
      if (!line.empty() && line.back() == '\\') continue;  // a command continued on the next line
      // Only a command that reads ratings stores them: `train --keep 3` retrains on what is stored.
      std::istringstream words(command);
      bool reads = false;
      for (std::string w; words >> w;) {
        static const std::vector<std::string> inputs{".csv", ".gz", ".zst", ".dat", ".data", ".tsv", ".txt"};
        reads = reads || w == "-" || w == "<" ||
                std::any_of(inputs.begin(), inputs.end(), [&](const std::string& e) { return w.ends_with(e); });
      }
      for (const char* stores : {"recsys train", "recsys import"}) {
        if (command.find(stores) == std::string::npos || !reads) continue;
        INFO(entry.path().string() << ": " << command);
        CHECK((command.find("--replace") != std::string::npos || command.find("--append") != std::string::npos));
        ++checked;
      }
      command.clear();
    }
  }
  REQUIRE(checked > 0);
}

TEST_CASE("the systemd units in packaging/ pass systemd-analyze verify without a warning") {
  if (!std::filesystem::exists("/usr/bin/systemd-analyze")) {
    WARN("skipped: systemd-analyze is not installed");
    return;
  }
  // verify checks that ExecStart= exists: point it at the binary under test.
  recsys::test::TempDir dir;
  std::vector<std::string> argv{"/usr/bin/systemd-analyze", "verify", "--man=no"};
  for (const auto& entry : std::filesystem::directory_iterator(source_root() / "packaging")) {
    auto ext = entry.path().extension();
    if (ext != ".service" && ext != ".timer") continue;
    std::string text = slurp(entry.path());
    for (auto at = text.find("/usr/local/bin/recsys"); at != std::string::npos;
         at = text.find("/usr/local/bin/recsys", at + 1)) {
      text.replace(at, std::string("/usr/local/bin/recsys").size(), recsys::test::recsys_bin());
    }
    argv.push_back(dir.write(entry.path().filename().string(), text).string());
  }
  REQUIRE(argv.size() >= 6);  // recsys.service, recsys-retrain.service and .timer
  recsys::test::Process verify(argv, dir.path());
  auto result = verify.wait();
  INFO(result.err);
  REQUIRE(result.status == 0);
  REQUIRE(result.err.empty());  // unknown keys are only warnings, with status 0
}
