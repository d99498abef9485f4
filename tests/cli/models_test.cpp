// recsys models list|delete|prune and train --keep: old generations can be
// removed, the serving one never. Runs the real binary.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;
using Catch::Contains;

namespace {

const std::string kRatings =
    "user,item,rating\nu1,i1,5\nu1,i2,3\nu2,i1,4\nu2,i3,2\nu3,i2,1\nu3,i3,5\nu4,i1,2\nu4,i4,4\n";

struct Db {
  TempDir dir;
  std::string db = (dir / "db").string();
  Db() { REQUIRE(run(std::vector<std::string>{"import", dir.write("r.csv", kRatings).string()}).status == 0); }
  RunResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--db", db, "--threads", "1", "--log-level", "warn"});
    return run_recsys(args, dir);
  }
  RunResult train(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"train", "--factors", "2", "--iterations", "1", "--split", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    return r;
  }
  // The generation numbers `models list --json` reports, and the serving one.
  std::string generations() const {
    auto r = run({"models", "list", "--json"});
    REQUIRE(r.status == 0);
    std::string out;
    for (auto pos = r.out.find("\"generation\":"); pos != std::string::npos; pos = r.out.find("\"generation\":", pos + 1)) {
      std::size_t start = pos + 13, end = r.out.find(',', start);
      if (!out.empty()) out += ',';
      out.append(r.out, start, end - start);
      if (r.out.compare(end, 16, ",\"serving\":true,") == 0) out += "*";
    }
    return out;
  }
};

}  // namespace

TEST_CASE("models list shows every generation and marks the serving one") {
  Db d;
  REQUIRE_THAT(d.run({"models", "list"}).out, Contains("no model generations"));
  d.train();
  d.train();
  REQUIRE(d.run({"precompute"}).status == 0);
  REQUIRE(d.generations() == "1,2*");
  auto text = d.run({"models", "list"});
  REQUIRE(text.status == 0);
  REQUIRE_THAT(text.out, Contains("generation") && Contains("yes") && Contains("implicit"));
}

TEST_CASE("models list names each generation's family: ALS by feedback and factors, EASE by λ, input and items") {
  Db d;
  d.train();
  auto ease = d.run({"train", "--model", "ease", "--regularization", "7", "--split", "none"});
  INFO(ease.err);
  REQUIRE(ease.status == 0);
  auto text = d.run({"models", "list"});
  REQUIRE(text.status == 0);
  INFO(text.out);
  auto lines = [&] {
    std::vector<std::string> out;
    for (std::size_t at = 0, end; at < text.out.size(); at = end + 1) {
      end = text.out.find('\n', at);
      out.push_back(text.out.substr(at, end - at));
    }
    return out;
  }();
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains("model") && !Contains("feedback") && !Contains("factors"));
  CHECK_THAT(lines[1], Contains("implicit ALS, 2 factors"));
  // 4 items: B is 4 × 4; the ratings are explicit, EASE's input binary.
  CHECK_THAT(lines[2], Contains("EASE, λ 7, binary input, 4 items") && !Contains("implicit") && !Contains("ALS"));
  // The metrics column starts in the same character column on every line.
  auto column = [](const std::string& line, const std::string& word) {
    auto at = line.rfind(word);
    return std::count_if(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(at),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  CHECK(column(lines[1], "-") == column(lines[0], "metrics"));
  CHECK(column(lines[2], "-") == column(lines[0], "metrics"));

  auto json = d.run({"models", "list", "--json"});
  REQUIRE(json.status == 0);
  CHECK_THAT(json.out, Contains(R"({"generation":1,"serving":false,"model":"ials","feedback":"implicit","factors":2,)"));
  CHECK_THAT(json.out, Contains(R"({"generation":2,"serving":false,"model":"ease","regularization":7,"confidence":"binary","items":4,"trained_at":)"));
  auto info = d.run({"info", "--json"});
  REQUIRE(info.status == 0);
  CHECK_THAT(info.out, Contains(R"("model":"ease","regularization":7,"confidence":"binary","items":4,"trained_at":)"));
}

TEST_CASE("models delete removes one generation but never the serving one or a missing one") {
  Db d;
  d.train();
  d.train();
  d.train();
  REQUIRE(d.run({"precompute"}).status == 0);  // serves 3
  auto serving = d.run({"models", "delete", "3"});
  REQUIRE(serving.status == 1);
  REQUIRE_THAT(serving.err, Contains("being served"));
  auto missing = d.run({"models", "delete", "9"});
  REQUIRE(missing.status == 1);
  REQUIRE_THAT(missing.err, Contains("no model generation 9"));
  REQUIRE(d.generations() == "1,2,3*");
  auto deleted = d.run({"models", "delete", "2"});
  REQUIRE(deleted.status == 0);
  REQUIRE(d.generations() == "1,3*");
  // The server's view is whole: recommendations still come from generation 3.
  REQUIRE_THAT(d.run({"recommend", "u1", "--json"}).out, Contains("\"model\":3"));
}

TEST_CASE("models prune and train --keep keep the newest generations and the serving one") {
  Db d;
  d.train();
  d.train();
  REQUIRE(d.run({"precompute"}).status == 0);  // serves 2
  d.train();
  d.train();
  REQUIRE(d.generations() == "1,2*,3,4");
  auto pruned = d.run({"models", "prune", "--keep", "1"});
  REQUIRE(pruned.status == 0);
  REQUIRE_THAT(pruned.out, Contains("1, 3"));
  REQUIRE(d.generations() == "2*,4");
  auto kept = d.train({"--keep", "1"});
  REQUIRE_THAT(kept.out, Contains("model generation 5") && Contains("deleted generations 4"));
  REQUIRE(d.generations() == "2*,5");
  REQUIRE(d.run({"models", "prune", "--keep", "0"}).status == 2);
}

namespace {
std::uint64_t json_number(const std::string& json, const std::string& key) {
  auto pos = json.find("\"" + key + "\":");
  REQUIRE(pos != std::string::npos);
  return std::stoull(json.substr(pos + key.size() + 3));
}
}  // namespace

TEST_CASE("info shows the space the data and the generations' factors use, and says when to prune") {
  // Before, a database with hundreds of generations showed only their count,
  // and nothing said how much of the file was free space.
  Db d;
  // Enough users and items that one generation's factors fill several pages.
  auto csv = (d.dir / "more.csv").string();
  REQUIRE(d.run({"generate", "--users", "400", "--items", "200", "--ratings", "4000", "--seed", "3", "-o", csv}).status == 0);
  REQUIRE(d.run({"import", "--append", csv}).status == 0);
  for (int i = 0; i < 11; ++i) REQUIRE(d.run({"train", "--factors", "8", "--iterations", "1", "--split", "none"}).status == 0);
  auto text = d.run({"info"});
  REQUIRE_THAT(text.out, Contains("generations          11 (prune: recsys models prune --keep N") &&
                             Contains("stored factors") && Contains("free inside the file"));
  auto before = d.run({"info", "--json"}).out;
  const auto file = json_number(before, "file_bytes");
  const auto used = json_number(before, "used_bytes");
  const auto free = json_number(before, "free_bytes");
  const auto factors = json_number(before, "factor_bytes");
  REQUIRE(used + free <= file);
  REQUIRE(factors > 0);
  REQUIRE(factors < used);
  REQUIRE(d.run({"models", "prune", "--keep", "1"}).status == 0);
  auto after = d.run({"info", "--json"}).out;
  REQUIRE(json_number(after, "factor_bytes") < factors);
  REQUIRE(json_number(after, "used_bytes") < used);
  REQUIRE(json_number(after, "free_bytes") > free);  // the file keeps its length; the pages are free
  REQUIRE_THAT(d.run({"info"}).out, !Contains("prune:"));
}

TEST_CASE("info shows the caches: k, depth, list counts, and whether they come from the latest generation") {
  // Before, info's help promised caches and it showed none.
  Db d;
  REQUIRE_THAT(d.run({"info"}).out, Contains("caches (recsys precompute)\n  lists                none (run recsys precompute)"));
  REQUIRE_THAT(d.run({"info", "--json"}).out, Contains(R"("caches":{"k":null})"));
  d.train();
  REQUIRE(d.run({"precompute", "--k", "2", "--depth", "3"}).status == 0);
  // A user first seen in an event has no list of their own.
  REQUIRE(d.run({"import", "--append", d.dir.write("new.csv", "user,item,rating\nu9,i1,4\n").string()}).status == 0);
  auto text = d.run({"info"}).out;
  REQUIRE_THAT(text, Contains("  k                    2\n  candidates kept      3\n"
                              "  user lists           4 (1 user without one gets the fallback list)\n"
                              "  similar-item lists   4\n  fallback list        2 items\n"
                              "  from generation      1\n"));
  REQUIRE_THAT(d.run({"info", "--json"}).out,
               Contains(R"("caches":{"k":2,"depth":3,"user_lists":4,"similar_lists":4,"fallback_items":2,"generation":1})"));
  d.train();
  REQUIRE_THAT(d.run({"info"}).out,
               Contains("from generation      1 (the latest is generation 2: run recsys precompute to serve it)"));
  // Generations count from 1: --model 0 served the latest instead of being refused.
  for (const char* command : {"precompute", "evaluate"}) {
    auto zero = d.run({command, "--model", "0"});
    CHECK(zero.status == 2);
    CHECK_THAT(zero.err, Contains("--model: must be positive (got 0)"));
  }
}
