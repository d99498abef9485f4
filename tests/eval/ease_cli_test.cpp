// recsys train --model ease with the real binary and a real database: the
// stored generation as every other command sees it, and the refusals.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"
#include "store/models.hpp"
#include "temp_dir.hpp"
#include "text.hpp"
#include "test_db.hpp"
#include "util/random.hpp"

using namespace recsys::test;

namespace {

// Two taste groups of users over two groups of items, tab separated.
std::string grouped_ratings() {
  std::ostringstream out;
  recsys::SplitMix rng(5);
  for (int u = 0; u < 40; ++u)
    for (int i = 0; i < 30; ++i)
      if (((u % 2) == (i % 2) && rng.uniform() < 0.6) || rng.uniform() < 0.05)
        out << "u" << u << '\t' << "i" << i << '\t' << 1 + rng.below(5) << '\n';
  return out.str();
}

}  // namespace

TEST_CASE("recsys train --model ease stores a generation that evaluate, precompute, recommend, similar and check use",
          "[ease]") {
  TempDir dir;
  auto file = dir.write("r.tsv", grouped_ratings());
  auto db = (dir / "db").string();
  auto metrics = (dir / "m.json").string();
  auto r = run_recsys({"--db", db, "--threads", "2", "train", file.string(), "--model", "ease", "--regularization",
                       "20", "--metrics-json", metrics},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.out.find("model generation 1: EASE, λ 20,") != std::string::npos);
  // Two clean taste groups: EASE ranks far above the most-popular baseline.
  auto report = slurp(metrics);
  auto model_at = report.find("\"model\":");
  auto base_at = report.find("\"baseline\":");
  REQUIRE(model_at != std::string::npos);
  REQUIRE(base_at != std::string::npos);
  double ndcg = json_number(report.substr(model_at), "ndcg_at_k");
  REQUIRE(ndcg > json_number(report.substr(base_at), "ndcg_at_k") + 0.1);

  // The stored description names the family; B is items × items, diagonal 0.
  {
    auto handle = open_test_db(dir, recsys::store::OpenMode::ReadOnly);
    auto txn = handle.begin_read();
    auto record = recsys::store::find_model(handle, txn, 1);
    REQUIRE(record);
    REQUIRE(record->description.find("\"model\":\"ease\"") != std::string::npos);
    auto b = recsys::store::load_factors(handle, txn, 1, recsys::store::Side::Items);
    REQUIRE(b.rows == 30);
    REQUIRE(b.cols == 30);
    for (std::uint32_t i = 0; i < b.rows; ++i) REQUIRE(b.data[std::size_t{i} * b.cols + i] == 0.0f);
    REQUIRE(recsys::store::load_factors(handle, txn, 1, recsys::store::Side::Users).rows == 0);
  }

  auto info = run_recsys({"--db", db, "info"}, dir);
  REQUIRE(info.status == 0);
  REQUIRE(info.out.find("1: ease (EASE, λ 20, 30 × 30 item weights)") != std::string::npos);
  auto info_json = run_recsys({"--db", db, "info", "--json"}, dir);
  REQUIRE(info_json.out.find("\"model\":\"ease\"") != std::string::npos);

  // evaluate re-fits B on the same split: the same figures as train printed.
  auto again = (dir / "again.json").string();
  auto ev = run_recsys({"--db", db, "evaluate", "--metrics-json", again}, dir);
  INFO(ev.err);
  REQUIRE(ev.status == 0);
  auto again_text = slurp(again);
  REQUIRE(json_number(again_text.substr(again_text.find("\"model\":")), "ndcg_at_k") == Approx(ndcg).epsilon(1e-9));

  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "5"}, dir).status == 0);
  auto rec = run_recsys({"--db", db, "recommend", "u1", "--json"}, dir);
  REQUIRE(rec.status == 0);
  REQUIRE(rec.out.find("\"source\":\"model\"") != std::string::npos);
  auto sim = run_recsys({"--db", db, "similar", "i2", "--json"}, dir);
  REQUIRE(sim.status == 0);
  REQUIRE(sim.out.find("\"source\":\"model\"") != std::string::npos);
  auto check = run_recsys({"--db", db, "check"}, dir);
  INFO(check.out << check.err);
  REQUIRE(check.status == 0);

  // A second EASE generation, then the first deleted: models and check still agree.
  REQUIRE(run_recsys({"--db", db, "train", "--model", "ease", "--split", "none"}, dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute"}, dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "models", "delete", "1"}, dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "check"}, dir).status == 0);
}

TEST_CASE("recsys train --model ease refuses more items than --max-items and stores no model", "[ease]") {
  TempDir dir;
  auto file = dir.write("r.tsv", grouped_ratings());
  auto db = (dir / "db").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--model", "ease", "--max-items", "10"}, dir);
  REQUIRE(r.status == 1);
  REQUIRE(r.err.find("30 items is more than --max-items 10") != std::string::npos);
  REQUIRE(r.err.find("use --model als") != std::string::npos);
  auto info = run_recsys({"--db", db, "info"}, dir);
  REQUIRE(info.out.find("none (run recsys train)") != std::string::npos);

  // λ must be positive: a usage error before any work.
  auto zero = run_recsys({"--db", db, "train", "--model", "ease", "--regularization", "0"}, dir);
  REQUIRE(zero.status == 2);
  REQUIRE(zero.err.find("--regularization must be > 0 for EASE") != std::string::npos);
  auto explicit_ease = run_recsys({"--db", db, "train", "--model", "ease", "--feedback", "explicit"}, dir);
  REQUIRE(explicit_ease.status == 2);
}

TEST_CASE("EASE fits with one thread on an odd number of items", "[ease]") {
  // Debian's OpenBLAS crashed in spotrf (SIGSEGV, strsm_kernel_RT_PRESCOTT) on
  // this data with --threads 1: 1201 items, an odd order. model/ease.cpp pads it.
  TempDir dir;
  auto db = (dir / "db").string();
  auto file = (dir / "odd.csv").string();
  REQUIRE(run_recsys({"generate", "--users", "2000", "--items", "1201", "--ratings", "60000", "--seed", "1", "-o", file},
                     dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "import", file}, dir).status == 0);
  auto r = run_recsys({"--db", db, "--threads", "1", "train", "--model", "ease", "--split", "none", "--no-loss"}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("training EASE") != std::string::npos);
  REQUIRE(run_recsys({"--db", db, "check"}, dir).status == 0);
}

TEST_CASE("a damaged row of a stored EASE B stops precompute with a clear error and the old lists keep serving",
          "[ease]") {
  TempDir dir;
  auto file = dir.write("r.tsv", grouped_ratings());
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "train", file.string(), "--model", "ease", "--split", "none"}, dir).status == 0);
  REQUIRE(run_recsys({"--db", db, "precompute", "--k", "5"}, dir).status == 0);
  auto before = run_recsys({"--db", db, "recommend", "u1", "--json"}, dir);
  REQUIRE(before.status == 0);
  REQUIRE(before.out.find("\"source\":\"model\"") != std::string::npos);

  // Row 0 of B cut to 3 values (as a torn or foreign write would leave it), then
  // row 7 removed: each is named, never read as a smaller or partly empty B.
  SECTION("a row of the wrong width") {
    auto handle = open_test_db(dir, recsys::store::OpenMode::ReadWrite);
    std::vector<float> short_row{0.5f, 0.25f, 0.125f};
    handle.write([&](recsys::store::Txn& txn) {
      recsys::store::put_factor_row(handle, txn, 1, recsys::store::Side::Items, 0, short_row);
    });
  }
  SECTION("a missing row") {
    auto handle = open_test_db(dir, recsys::store::OpenMode::ReadWrite);
    // The factors key: generation (big-endian), side, row (big-endian).
    const std::string key{'\0', '\0', '\0', '\1', 'i', '\0', '\0', '\0', '\7'};
    handle.write([&](recsys::store::Txn& txn) { REQUIRE(handle.tables().factors.del(txn, key)); });
  }
  auto pre = run_recsys({"--db", db, "precompute", "--k", "5"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 1);
  REQUIRE(pre.err.find("model generation 1 (EASE) is damaged: row ") != std::string::npos);
  REQUIRE(pre.err.find("run recsys check") != std::string::npos);
  auto after = run_recsys({"--db", db, "recommend", "u1", "--json"}, dir);
  REQUIRE(after.status == 0);
  REQUIRE(after.out == before.out);
  auto check = run_recsys({"--db", db, "check"}, dir);
  REQUIRE(check.status != 0);
}

TEST_CASE("precompute of an EASE generation refreshes users outside B with the B it ranked with and loads no second copy",
          "[ease]") {
  TempDir dir;
  auto file = dir.write("r.tsv", grouped_ratings());
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "train", file.string(), "--model", "ease", "--split", "none"}, dir).status == 0);
  // A new user whose only item is newer than B: no model list, so the commit
  // refreshes them (the fallback without their item).
  auto extra = dir.write("new.tsv", "newcomer\tbrand-new\t4\n");
  REQUIRE(run_recsys({"--db", db, "import", extra.string(), "--append"}, dir).status == 0);
  auto pre = run_recsys({"--db", db, "precompute", "--k", "5"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
  REQUIRE(pre.err.find("folded in 1 users the model has no scores for") != std::string::npos);
  // The event writer's model load (and its log line) is not repeated inside the commit.
  REQUIRE(pre.err.find("uses model generation") == std::string::npos);
  auto rec = run_recsys({"--db", db, "recommend", "newcomer", "--json"}, dir);
  REQUIRE(rec.status == 0);
  REQUIRE(rec.out.find("\"source\":\"fallback\"") != std::string::npos);
  REQUIRE(rec.out.find("brand-new") == std::string::npos);
  REQUIRE(run_recsys({"--db", db, "recommend", "u1", "--json"}, dir).out.find("\"source\":\"model\"") !=
          std::string::npos);
}

TEST_CASE("recsys similar never lists the item itself, also when its list is the fallback", "[ease]") {
  // One item: EASE's B is [0] (no similar items); ALS has no other item either.
  for (std::string family : {"ease", "als"}) {
    INFO(family);
    TempDir dir;
    auto file = dir.write("t.tsv", "u1\ti1\t5\nu2\ti1\t3\n");
    auto db = (dir / "db").string();
    auto r = run_recsys({"--db", db, "train", file.string(), "--model", family, "--split", "none"}, dir);
    INFO(r.err);
    REQUIRE(r.status == 0);
    REQUIRE(run_recsys({"--db", db, "precompute"}, dir).status == 0);
    auto similar = run_recsys({"--db", db, "similar", "i1", "--json"}, dir);
    REQUIRE(similar.status == 0);
    REQUIRE(similar.out.find("\"items\":[]") != std::string::npos);
    REQUIRE(run_recsys({"--db", db, "check"}, dir).status == 0);
  }
}
