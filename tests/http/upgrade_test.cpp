// A database written by a recsys of schema version 1 (before the candidates
// table): read as it is by read-only opens, served from a replica nobody may
// write, and upgraded in place by the first read-write open, after which a
// version-1 binary would refuse it. The real binary on a real database.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "../rank/list_json.hpp"
#include "client.hpp"
#include "process.hpp"
#include "store/database.hpp"
#include "temp_dir.hpp"
#include "toy_ratings.hpp"

using namespace recsys;
using namespace recsys::test;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

// Trained and precomputed by this binary, then turned into what a version-1
// binary left: schema version 1, no candidates table, no stored fallback order.
std::string version_1_db(const TempDir& dir) {
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kToyRatings);
  for (std::vector<std::string> args : {std::vector<std::string>{"train", csv.string(), "--split", "none", "--factors",
                                                                 "2", "--iterations", "2"},
                                        {"precompute", "--k", "3"}}) {
    args.insert(args.begin(), {"--db", db, "--log-level", "warn"});
    REQUIRE(run_recsys(args, dir).status == 0);
  }
  store::OpenOptions o;
  o.path = db;
  o.mode = store::OpenMode::ReadWrite;
  auto handle = store::Database::open(o);
  handle.write([&](store::Txn& txn) {
    handle.put_meta_u32(txn, "schema_version", 1);
    handle.tables().meta.del(txn, "fallback_order");
    store::check("mdb_drop", mdb_drop(txn.handle(), handle.tables().candidates.handle(), 1));
  });
  return db;
}

}  // namespace

TEST_CASE("a version-1 database is read, backed up and served read-only as it is, and upgraded by a write") {
  TempDir dir;
  const auto db = version_1_db(dir);
  // Before: every read-only command failed with "has no table 'candidates'".
  auto info = run_recsys({"--db", db, "info", "--json"}, dir);
  INFO(info.err);
  REQUIRE(info.status == 0);
  REQUIRE_THAT(info.out, Contains("\"schema_version\":1"));
  auto check = run_recsys({"--db", db, "check"}, dir);
  INFO(check.out << check.err);
  REQUIRE(check.status == 0);
  REQUIRE(run_recsys({"--db", db, "recommend", "u1"}, dir).status == 0);
  const auto copy = (dir / "copy").string();
  REQUIRE(run_recsys({"--db", db, "backup", copy}, dir).status == 0);

  // The copy as a replica nobody may write, served as user nobody when run as
  // root (root ignores file modes): read-only, exclude= included.
  fs::permissions(dir.path(), fs::perms(0755));
  fs::permissions(copy, fs::perms(0755));
  fs::permissions(copy + "/data.mdb", fs::perms(0444));
  std::vector<std::string> as_nobody;
  if (::geteuid() == 0) as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  {
    test::Server server(dir, copy, {"--threads", "1"}, as_nobody);
    REQUIRE_THAT(server.process().current_stderr(), Contains("serving read-only"));
    Connection c(server.port());
    auto plain = parse_body(c.get("/v1/users/stranger/recommendations").body);
    REQUIRE(plain.items.size() == 3);
    auto excluded = parse_body(c.get("/v1/users/stranger/recommendations?exclude=" + plain.items[0].first).body);
    // The stored list without the excluded item (no candidates to refill from).
    REQUIRE(excluded.items.size() == 2);
    REQUIRE(excluded.items[0].first == plain.items[1].first);
    REQUIRE_THAT(c.get("/readyz").body, Contains("\"events\":\"read-only\""));
  }
  REQUIRE_THAT(run_recsys({"--db", copy, "info", "--json"}, dir).out, Contains("\"schema_version\":1"));

  // A writing command upgrades it and adds what version 2 stores.
  auto pre = run_recsys({"--db", db, "precompute", "--k", "3"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  REQUIRE_THAT(pre.err, Contains("upgraded from schema version 1 to 2"));
  auto after = run_recsys({"--db", db, "info", "--json"}, dir);
  REQUIRE_THAT(after.out, Contains("\"schema_version\":2"));
  REQUIRE(run_recsys({"--db", db, "check"}, dir).status == 0);
}
