// recsys train / evaluate / info with the real binary and a real database.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "process.hpp"
#include "temp_dir.hpp"
#include "util/random.hpp"

using namespace recsys::test;

namespace {

// Two taste groups of users over two groups of items, tab separated.
std::string small_ratings() {
  std::ostringstream out;
  recsys::SplitMix rng(3);
  for (int u = 0; u < 40; ++u)
    for (int i = 0; i < 30; ++i)
      if ((u % 2) == (i % 2) && rng.uniform() < 0.6) out << "u" << u << '\t' << "i" << i << '\t' << 1 + rng.below(5) << '\n';
  return out.str();
}

double json_number(const std::string& text, const std::string& key) {
  auto at = text.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::strtod(text.c_str() + at + key.size() + 3, nullptr);
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("recsys train on a small file stores a model that info and evaluate show") {
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());
  auto db = (dir / "db").string();
  auto metrics = (dir / "m.json").string();
  auto r = run_recsys({"--db", db, "--threads", "2", "train", file.string(), "--factors", "8", "--iterations", "5",
                       "--metrics-json", metrics},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("nDCG@10") != std::string::npos);
  CHECK(r.out.find("model generation 1") != std::string::npos);
  auto m = slurp(metrics);
  CHECK(json_number(m, "ndcg_at_k") > 0);

  auto info = run_recsys({"--db", db, "info", "--json"}, dir);
  REQUIRE(info.status == 0);
  CHECK(info.out.find("\"generations\":[{\"generation\":1") != std::string::npos);
  CHECK(info.out.find("\"ndcg_at_k\":") != std::string::npos);

  // Training again on the stored ratings adds generation 2.
  auto again = run_recsys({"--db", db, "train", "--factors", "8", "--iterations", "3", "--no-refit"}, dir);
  REQUIRE(again.status == 0);
  CHECK(again.out.find("model generation 2") != std::string::npos);
  auto ev = run_recsys({"--db", db, "evaluate", "--k", "5"}, dir);
  INFO(ev.err);
  REQUIRE(ev.status == 0);
  CHECK(ev.out.find("nDCG@5") != std::string::npos);
}

TEST_CASE("bad train options are usage errors and write nothing") {
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());
  auto db = (dir / "db").string();
  for (std::vector<std::string> bad : {std::vector<std::string>{"--factors", "0"},
                                       {"--regularization", "-1"},
                                       {"--test-fraction", "1"},
                                       {"--test-fraction", "0"},
                                       {"--split", "sideways"},
                                       {"--k", "0"}}) {
    std::vector<std::string> args{"--db", db, "train", file.string()};
    args.insert(args.end(), bad.begin(), bad.end());
    auto r = run_recsys(args, dir);
    INFO(bad[0] << " " << bad[1] << ": " << r.err);
    CHECK(r.status == 2);
  }
  CHECK(!std::filesystem::exists(dir / "db"));
}

TEST_CASE("train refuses an empty database and a single-user dataset") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto one = dir.write("one.tsv", "u1\ti1\t5\nu1\ti2\t3\n");
  auto r = run_recsys({"--db", db, "train", one.string()}, dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("at least two users") != std::string::npos);
}

TEST_CASE("train gives finite factors when every rating is equal") {
  TempDir dir;
  std::ostringstream s;
  for (int u = 0; u < 10; ++u)
    for (int i = 0; i < 8; ++i)
      if ((u + i) % 3 != 0) s << u << ',' << i << ",4\n";
  auto file = dir.write("eq.csv", s.str());
  auto db = (dir / "db").string();
  for (const char* fb : {"implicit", "explicit"}) {
    auto r = run_recsys({"--db", db, "train", "--replace", file.string(), "--feedback", fb, "--factors", "4", "--iterations", "3"},
                        dir);
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("nan") == std::string::npos);
  }
}

TEST_CASE("ML-100k with default options reaches the quality bar (skipped without ../shared/data)") {
  auto data = shared_data_dir();
  if (data.empty() || !std::filesystem::exists(data / "ml-100k" / "u.data")) {
    WARN("shared data not found: skipped");
    return;
  }
  TempDir dir;
  auto db = (dir / "db").string();
  auto implicit = (dir / "implicit.json").string();
  auto r = run_recsys({"--db", db, "--threads", "2", "train", (data / "ml-100k" / "u.data").string(), "--no-refit",
                       "--no-loss", "--metrics-json", implicit},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto m = slurp(implicit);
  auto model = m.substr(m.find("\"model\":"));
  CHECK(json_number(model, "ndcg_at_k") >= 0.48);
  CHECK(json_number(model, "map") >= 0.145);
  auto explicit_json = (dir / "explicit.json").string();
  auto e = run_recsys({"--db", db, "--threads", "2", "train", "--feedback", "explicit", "--no-refit", "--no-loss",
                       "--metrics-json", explicit_json},
                      dir);
  REQUIRE(e.status == 0);
  CHECK(json_number(slurp(explicit_json), "rmse") <= 0.92);
}
