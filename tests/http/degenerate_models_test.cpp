// Models at the edges of their numbers, through the real binary and server:
// weights past float's range, factors that are all zero or very small, and
// catalogues where no item has similar items. Each case once served lists
// that were not what they claimed to be.
#include <catch2/catch.hpp>

#include <string>

#include "client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

RunResult must_run(const std::vector<std::string>& args, const TempDir& dir) {
  auto r = run_recsys(args, dir);
  INFO(args.back() << ": " << r.err);
  REQUIRE(r.status == 0);
  return r;
}

}  // namespace

// α·value overflowed float in fold-in (precompute's and the event writer's):
// the factors became NaN, ranked nothing, and the user was served an empty
// list marked "source":"model"; check said ok.
TEST_CASE("a weight past float's range in fold-in gives the fallback, not an empty model list") {
  TempDir dir;
  const auto db = (dir / "db").string();
  const auto csv = (dir / "plays.csv").string();
  must_run({"generate", "--users", "200", "--items", "100", "--ratings", "3000", "--values", "counts", "--seed", "1",
            "-o", csv},
           dir);
  must_run({"--db", db, "train", csv, "--confidence", "linear", "--alpha", "1e30", "--solver", "cholesky", "--split",
            "none"},
           dir);
  // Through precompute's fold-in: user 1's stored ratings changed after training.
  auto event = dir.write("event.csv", "user,item,plays\n1,5,1000000000\n");
  must_run({"--db", db, "import", event.string(), "--append"}, dir);
  must_run({"--db", db, "precompute"}, dir);
  auto one = must_run({"--db", db, "recommend", "1", "--json"}, dir);
  CHECK(has(one.out, R"("source":"fallback","items":[{"item":)"));
  CHECK(has(must_run({"--db", db, "recommend", "3", "--json"}, dir).out, R"("source":"model","items":[{"item":)"));

  // Through the event writer's fold-in.
  Server server(dir, db);
  Connection c(server.port());
  auto posted = c.request("POST", "/v1/events", R"({"user":"2","item":"50","value":1000000000})");
  REQUIRE(posted.status == 200);
  auto two = c.get("/v1/users/2/recommendations");
  REQUIRE(two.status == 200);
  CHECK(has(two.body, R"("source":"fallback","items":[{"item":)"));
  posted = c.request("POST", "/v1/events", R"({"user":"newcomer","item":"50","value":1000000000})");
  REQUIRE(posted.status == 200);
  CHECK(has(c.get("/v1/users/newcomer/recommendations").body, R"("source":"fallback","items":[{"item":)"));
  server.stop();
  CHECK(must_run({"--db", db, "check"}, dir).out.rfind("ok:", 0) == 0);
}

// With --nonnegative, NaN in a solve was clamped to 0 by max(0, ·): a model of
// zero users and noise items was stored where the other solvers report that
// training diverged. Non-finite weights are now refused before any fit.
TEST_CASE("confidence weights past float's range are refused before training, with every solver") {
  TempDir dir;
  const auto db = (dir / "db").string();
  const auto csv = (dir / "plays.csv").string();
  must_run({"generate", "--users", "100", "--items", "60", "--ratings", "1500", "--values", "counts", "--seed", "2",
            "-o", csv},
           dir);
  must_run({"--db", db, "import", csv}, dir);
  for (const auto& solver : std::vector<std::vector<std::string>>{{"--nonnegative"}, {"--solver", "cholesky"}, {}}) {
    std::vector<std::string> args{"--db", db, "train", "--split", "none", "--confidence", "linear", "--alpha", "3e38"};
    args.insert(args.end(), solver.begin(), solver.end());
    auto r = run_recsys(args, dir);
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(has(r.err, "is not finite"));
    CHECK(has(r.err, "give a smaller --alpha, or --confidence log"));
  }
  CHECK(has(must_run({"--db", db, "models", "list"}, dir).out, "no model generations"));
  // Settings stored as float: past its range is a usage error, for import-factors too.
  auto r = run_recsys({"--db", db, "train", "--regularization", "1e39"}, dir);
  CHECK(r.status == 2);
  CHECK(has(r.err, "must be within ±3.4e38"));
  r = run_recsys({"--db", db, "train", "--regularization", "1e-50"}, dir);
  CHECK(r.status == 2);
  CHECK(has(r.err, "is too small for a float"));
  auto users = dir.write("users.csv", "1,0.5,0.5\n");
  auto items = dir.write("items.csv", "10,0.5,0.5\n");
  for (const char* option : {"--regularization", "--alpha"}) {
    r = run_recsys({"--db", db, "import-factors", "--users", users.string(), "--items", items.string(), option, "1e39"},
                   dir);
    INFO(r.err);
    CHECK(r.status == 2);
  }
}

// An empty selection of rows meant "every row" to the products: precompute,
// finding no item with factors (or none co-occurring with another, for EASE),
// stored every item's model list, scored 0, instead of its fallback.
TEST_CASE("when no item has similar items, every item gets the fallback without itself") {
  TempDir dir;
  SECTION("EASE: no two items rated by one user") {
    const auto db = (dir / "ease").string();
    auto csv = dir.write("diag.csv", "a,x,1\nb,y,1\nc,z,1\nd,z,1\n");
    must_run({"--db", db, "train", csv.string(), "--model", "ease", "--split", "none"}, dir);
    auto pre = must_run({"--db", db, "precompute", "--json"}, dir);
    CHECK(has(pre.out, R"("similar_lists":0)"));
    auto x = must_run({"--db", db, "similar", "x", "--json"}, dir);
    CHECK(x.out == R"({"item":"x","model":1,"source":"fallback","items":[{"item":"z","score":2},{"item":"y","score":1}]})"
                   "\n");
  }
  SECTION("ALS: item factors all zero") {
    const auto db = (dir / "als").string();
    auto users = dir.write("users.csv", "1,0.5,0.5\n2,0.1,0.9\n");
    auto items = dir.write("items.csv", "10,0,0\n20,0,0\n30,0,0\n");
    must_run({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
    must_run({"--db", db, "precompute"}, dir);
    // No ratings and no factor lengths to rank by: the fallback is empty, and
    // users, whose every score would be 0, get it too.
    CHECK(must_run({"--db", db, "similar", "10", "--json"}, dir).out ==
          R"({"item":"10","model":1,"source":"fallback","items":[]})"
          "\n");
    CHECK(must_run({"--db", db, "recommend", "1", "--json"}, dir).out ==
          R"({"user":"1","model":1,"source":"fallback","items":[]})"
          "\n");
    CHECK(must_run({"--db", db, "check"}, dir).out.rfind("ok:", 0) == 0);
  }
}

// Factor rows below 1e-5 counted as "no factors" (Eigen's isZero): imported
// users were served the fallback although their factors rank the items.
TEST_CASE("small factors are factors: a user with factors below 1e-5 gets the model's list") {
  TempDir dir;
  const auto db = (dir / "db").string();
  auto users = dir.write("users.csv", "1,0.000005,0.000001\n");
  auto items = dir.write("items.csv", "10,1,0\n20,0,1\n30,0.5,0.5\n");
  must_run({"--db", db, "import-factors", "--users", users.string(), "--items", items.string()}, dir);
  must_run({"--db", db, "precompute", "--k", "3"}, dir);
  auto one = must_run({"--db", db, "recommend", "1", "--json"}, dir);
  CHECK(has(one.out, R"("source":"model","items":[{"item":"10",)"));
  CHECK(has(one.out, R"({"item":"30",)"));
}
