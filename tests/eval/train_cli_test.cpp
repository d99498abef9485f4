// recsys train / evaluate / info with the real binary and a real database.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "process.hpp"
#include "store/models.hpp"
#include "test_db.hpp"
#include "temp_dir.hpp"
#include "text.hpp"
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

TEST_CASE("--split chrono on a file without timestamps warns that it follows the file order") {
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());  // three columns: no timestamps
  auto db = (dir / "db").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--split", "chrono", "--factors", "4", "--iterations", "2"},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("--split chrono: the ratings carry no timestamps") != std::string::npos);
  auto plain = run_recsys({"--db", db, "train", "--factors", "4", "--iterations", "2"}, dir);
  REQUIRE(plain.status == 0);
  CHECK(plain.err.find("no timestamps") == std::string::npos);  // stratified never reads them
}

TEST_CASE("bad train options are usage errors and write nothing") {
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());
  auto db = (dir / "db").string();
  for (std::vector<std::string> bad : {std::vector<std::string>{"--factors", "0"},
                                       {"--regularization", "-1"},
                                       // NaN is the "not given" sentinel: before, these trained with the default.
                                       {"--regularization", "nan"},
                                       {"--alpha", "NaN"},
                                       {"--regularization", "inf"},
                                       {"--model", "ease", "--regularization", "nan"},
                                       {"--test-fraction", "1"},
                                       {"--test-fraction", "0"},
                                       {"--split", "sideways"},
                                       {"--k", "0"},
                                       {"--user-norm", "-0.5"},
                                       {"--user-norm", "3"},
                                       {"--user-norm", "0.5", "--feedback", "explicit"},
                                       {"--user-norm", "0.5", "--model", "ease"}}) {
    std::vector<std::string> args{"--db", db, "train", file.string()};
    args.insert(args.end(), bad.begin(), bad.end());
    auto r = run_recsys(args, dir);
    INFO(bad[0] << " " << bad[1] << ": " << r.err);
    CHECK(r.status == 2);
  }
  CHECK(!std::filesystem::exists(dir / "db"));
}

TEST_CASE("a --k beyond the catalogue ranks every item instead of failing") {
  // Lists were sized users × k: 2^40 ended train and evaluate with std::bad_alloc.
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());
  auto db = (dir / "db").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--k", "1099511627776", "--no-refit"}, dir);
  INFO(r.err);
  CHECK(r.status == 0);
  auto e = run_recsys({"--db", db, "evaluate", "--k", "1099511627776"}, dir);
  INFO(e.err);
  CHECK(e.status == 0);
}

// Items rated only in the test part have no learned factors. They were
// ranked anyway, on what initialisation left, so at a large k coverage
// (distinct recommended items / items in the train part) went above 1.
TEST_CASE("items without a training rating are not ranked, and coverage stays at most 1") {
  TempDir dir;
  auto csv = (dir / "r.csv").string();
  // 2000 items for 6000 ratings: hundreds have one rating, many of them in the test part.
  REQUIRE(run_recsys({"generate", "--users", "300", "--items", "2000", "--ratings", "6000", "--seed", "5", "-o", csv},
                     dir).status == 0);
  auto db = (dir / "db").string();
  auto metrics = (dir / "m.json").string();
  auto r = run_recsys({"--db", db, "train", csv, "--factors", "8", "--iterations", "3", "--k", "5000", "--no-refit",
                       "--metrics-json", metrics}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::ifstream in(metrics);
  std::stringstream text;
  text << in.rdbuf();
  const std::string json = text.str();
  auto at = json.find("\"coverage\":");
  REQUIRE(at != std::string::npos);
  const double coverage = std::stod(json.substr(at + 11));
  CHECK(coverage > 0.9);
  CHECK(coverage <= 1.0);
  auto e = run_recsys({"--db", db, "evaluate", "--k", "5000"}, dir);
  REQUIRE(e.status == 0);
  CHECK(e.out.find("coverage          1.0000") != std::string::npos);
}

// A full disk showed only when the stream was flushed or closed, after the
// checks: train and evaluate left a 0-byte metrics file and exited 0.
TEST_CASE("a metrics or report file that cannot be written is an error, not an empty file") {
  TempDir dir;
  auto file = dir.write("r.tsv", small_ratings());
  auto db = (dir / "db").string();
  if (std::filesystem::exists("/dev/full")) {
    auto r = run_recsys({"--db", db, "train", file.string(), "--iterations", "2", "--metrics-json", "/dev/full"}, dir);
    CHECK(r.status == 1);
    CHECK(r.err.find("cannot write /dev/full: No space left on device") != std::string::npos);
  }
  // Refused before any work: nothing is trained or stored.
  auto r = run_recsys({"--db", db, "train", file.string(), "--metrics-json", (dir / "no" / "m.json").string()}, dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot write the metrics to") != std::string::npos);
  // A directory is refused before any work too (it was imported and trained, then failed).
  std::filesystem::create_directory(dir / "a-dir");
  r = run_recsys({"--db", (dir / "fresh").string(), "train", file.string(), "--metrics-json", (dir / "a-dir").string()},
                 dir);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("cannot write the metrics to " + (dir / "a-dir").string() + ": it is a directory"));
  CHECK_FALSE(std::filesystem::exists(dir / "fresh"));
  // A link is followed: the report replaces its target, and the link stays.
  std::filesystem::create_symlink("linked.json", dir / "link.json");
  REQUIRE(run_recsys({"--db", (dir / "linkdb").string(), "train", file.string(), "--iterations", "2", "--no-refit",
                      "--metrics-json", (dir / "link.json").string()}, dir).status == 0);
  CHECK(std::filesystem::is_symlink(dir / "link.json"));
  CHECK(std::filesystem::file_size(dir / "linked.json") > 0);
  // The check creates nothing: without a split there are no metrics, and no
  // empty file either; a warning says so (before, nothing did).
  r = run_recsys({"--db", db, "train", "--split", "none", "--iterations", "1", "--metrics-json",
                  (dir / "none.json").string()}, dir);
  CHECK(r.status == 0);
  CHECK(!std::filesystem::exists(dir / "none.json"));
  CHECK_THAT(r.err, Catch::Contains("--metrics-json " + (dir / "none.json").string() +
                                    " is not written: --split none evaluates nothing"));
  REQUIRE(run_recsys({"--db", db, "train", "--iterations", "2"}, dir).status == 0);
  if (std::filesystem::exists("/dev/full")) {
    auto e = run_recsys({"--db", db, "evaluate", "--metrics-json", "/dev/full"}, dir);
    CHECK(e.status == 1);
    CHECK(e.err.find("cannot write /dev/full: No space left on device") != std::string::npos);
    // The HTML report is written after the model is stored: the error says so.
    // (Generation 3 after the two above: the failed train stored none.)
    auto t = run_recsys({"--db", db, "train", "--iterations", "2", "--report", "/dev/full"}, dir);
    CHECK(t.status == 1);
    CHECK(t.err.find("(the model is stored as generation 3)") != std::string::npos);
  }
}

TEST_CASE("train refuses an empty database and a single-user dataset") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto one = dir.write("one.tsv", "u1\ti1\t5\nu1\ti2\t3\n");
  auto r = run_recsys({"--db", db, "train", one.string()}, dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("at least two users") != std::string::npos);
  // The file was imported before the refusal: said, since the same command
  // again is refused without --append or --replace.
  CHECK(r.err.find("the rating files given were imported and stay stored: run recsys train without them") !=
        std::string::npos);
  auto again = run_recsys({"--db", db, "train"}, dir);
  CHECK(again.status == 1);
  CHECK(again.err.find("at least two users") != std::string::npos);
  CHECK(again.err.find("stay stored") == std::string::npos);
}

TEST_CASE("ALS settings given with --model ease are named as having no effect") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto file = dir.write("r.csv", "a,x,1\na,y,1\nb,x,1\nb,z,1\nc,y,1\nc,z,1\n");
  auto r = run_recsys({"--db", db, "train", file.string(), "--model", "ease", "--factors", "8", "--solver", "cholesky",
                       "--split", "none"},
                      dir);
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.err.find("--factors, --solver are ALS settings: --model ease has none") != std::string::npos);
  // Likewise the implicit-feedback settings with --feedback explicit (silently ignored before).
  auto explicit_run = run_recsys({"--db", db, "train", "--feedback", "explicit", "--confidence", "binary", "--alpha", "7",
                                  "--split", "none"},
                                 dir);
  INFO(explicit_run.err);
  CHECK(explicit_run.status == 0);
  CHECK(explicit_run.err.find("--confidence, --alpha are implicit-feedback settings: --feedback explicit has none") !=
        std::string::npos);
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

TEST_CASE("train gives exact metrics when some users have too few ratings for a test item") {
  // --split chrono holds out each user's latest rating when they have three or
  // more (75/25 rounds to none for one or two). A, C and E get a test item; B
  // and D have one or two ratings and get none. C's test item e is one of E's
  // training items: scored against another user's exclusions, C would miss it.
  // With k = 10 over six items every unseen item is listed, so every test item
  // is a hit: recall 1 and precision 1/10 exactly. (Every test item has a train
  // rating, B's d among them: items rated only in the test part are not ranked.)
  TempDir dir;
  auto file = dir.write("toy.csv",
                        "user,item,rating,timestamp\n"
                        "A,a,5,1\nA,b,4,2\nA,c,3,3\nA,d,2,4\n"
                        "B,a,4,1\nB,d,3,2\n"
                        "C,a,5,1\nC,b,4,2\nC,c,3,3\nC,e,2,4\n"
                        "D,b,1,1\nD,c,2,2\n"
                        "E,e,3,1\nE,f,4,2\nE,a,5,3\nE,b,1,4\n");
  auto db = (dir / "db").string();
  auto metrics = (dir / "m.json").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--split", "chrono", "--factors", "2", "--iterations", "2",
                       "--k", "10", "--metrics-json", metrics},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto m = slurp(metrics);
  auto model = m.substr(m.find("\"model\":"));
  CHECK(json_number(model, "users") == 3);
  CHECK(json_number(model, "recall_at_k") == Approx(1.0));
  CHECK(json_number(model, "precision_at_k") == Approx(0.1));
}

TEST_CASE("evaluate --test scores each user of the file against their own stored ratings") {
  // Six users over eight items, trained without a split. The test file has
  // items for P2, P4 and P5 only; P2's test item x2 is one of P5's stored
  // items, so excluding another user's ratings would hide it. k = 8 lists every
  // item a user has not rated: each test item is a hit.
  TempDir dir;
  auto db = (dir / "db").string();
  auto file = dir.write("train.csv", "user,item\nP0,x0\nP0,x1\nP1,x2\nP1,x3\nP2,x4\nP2,x5\n"
                                     "P3,x0\nP3,x6\nP4,x1\nP4,x7\nP5,x2\nP5,x4\n");
  auto r = run_recsys({"--db", db, "train", file.string(), "--split", "none", "--factors", "2", "--iterations", "2"},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto test_file = dir.write("test.csv", "user,item\nP2,x2\nP4,x0\nP5,x3\n");
  auto json = (dir / "e.json").string();
  auto e = run_recsys({"--db", db, "evaluate", "--test", test_file.string(), "--k", "8", "--metrics-json", json}, dir);
  INFO(e.err);
  REQUIRE(e.status == 0);
  auto m = slurp(json);
  auto model = m.substr(m.find("\"model\":"));
  CHECK(json_number(model, "users") == 3);
  CHECK(json_number(model, "recall_at_k") == Approx(1.0));
  CHECK(json_number(model, "precision_at_k") == Approx(1.0 / 8));
  CHECK_THAT(e.err, !Catch::Contains("stored in the database too"));

  // Test pairs the database holds can never be hits (stored ratings are not
  // recommended): before, this printed a table of zeros and nothing else.
  auto stored = dir.write("stored.csv", "user,item\nP2,x4\nP4,x0\nP5,x2\n");
  auto s = run_recsys({"--db", db, "evaluate", "--test", stored.string()}, dir);
  REQUIRE(s.status == 0);
  CHECK_THAT(s.err, Catch::Contains("stored.csv: 2 of its 3 test ratings (66.7%) are stored in the database too"));
}

// evaluate --test dropped malformed rows without a word and counted a pair
// given twice twice (a test file concatenated with itself halved recall and MAP).
TEST_CASE("evaluate --test names malformed rows, refuses a file of mostly bad rows, and counts a repeated pair once") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto file = dir.write("train.csv", "user,item\nP0,x0\nP0,x1\nP1,x2\nP1,x3\nP2,x4\nP2,x5\n"
                                     "P3,x0\nP3,x6\nP4,x1\nP4,x7\nP5,x2\nP5,x4\n");
  REQUIRE(run_recsys({"--db", db, "train", file.string(), "--split", "none", "--factors", "2", "--iterations", "2"},
                     dir).status == 0);
  auto metrics = [&](const std::string& name, const std::string& rows) {
    auto test_file = dir.write(name, rows);
    auto json = (dir / (name + ".json")).string();
    auto e = run_recsys({"--db", db, "evaluate", "--test", test_file.string(), "--k", "8", "--metrics-json", json}, dir);
    INFO(e.err);
    REQUIRE(e.status == 0);
    auto m = slurp(json);
    return std::pair(m.substr(m.find("\"model\":")), e.err);
  };
  auto [once, once_err] = metrics("once.csv", "user,item\nP2,x2\nP4,x0\nP5,x3\n");
  auto [twice, twice_err] = metrics("twice.csv", "user,item\nP2,x2\nP4,x0\nP5,x3\nP2,x2\nP4,x0\nP5,x3\n");
  CHECK(json_number(twice, "recall_at_k") == Approx(json_number(once, "recall_at_k")));
  CHECK(json_number(twice, "map") == Approx(json_number(once, "map")));
  CHECK_THAT(twice_err, Catch::Contains("twice.csv: 3 rows repeat a (user, item) pair"));
  // One bad row in eleven (9 %): scored, and named with its line.
  auto [some, some_err] = metrics("some.csv", "user,item,rating\nP2,x2,1\nP4,x0,1\nP5,x3,oops\nP2,x3,1\nP4,x3,1\n"
                                              "P5,x0,1\nP2,x6,1\nP4,x6,1\nP5,x6,1\nP2,x7,1\nP5,x7,1\n");
  CHECK(json_number(some, "users") == 3);
  CHECK_THAT(some_err, Catch::Contains("some.csv:4: rating 'oops' is not a number"));
  CHECK_THAT(some_err, Catch::Contains("some.csv: 1 of 11 rows are malformed and were skipped"));
  // Half bad: refused, unless --max-bad-fraction allows it.
  auto half = dir.write("half.csv", "user,item,rating\nP2,x2,1\nP4,x0,x\nP5,x3,1\nP2,x3,x\n");
  auto r = run_recsys({"--db", db, "evaluate", "--test", half.string()}, dir);
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("2 of 4 rows (50.0%) are malformed, more than --max-bad-fraction 0.1 allows: "
                                    "nothing scored"));
  CHECK(run_recsys({"--db", db, "evaluate", "--test", half.string(), "--max-bad-fraction", "0.5"}, dir).status == 0);
}

// Users stored after a --no-refit model was trained have no factors in it:
// evaluate scored them with zero factors and reported lower figures without
// a word. They are left out and counted; the model's users score as at training.
TEST_CASE("evaluate of a model leaves out, and counts, test users and items stored after it was trained") {
  TempDir dir;
  auto db = (dir / "db").string();
  std::string first, later;
  recsys::SplitMix rng(8);
  for (int u = 0; u < 60; ++u)
    for (int i = 0; i < 40; ++i)
      if (rng.uniform() < 0.25) (u < 50 ? first : later) += "u" + std::to_string(u) + ",i" + std::to_string(i) + ",1\n";
  for (int u = 50; u < 60; ++u)  // and items the model has never seen
    for (int j = 0; j < 4; ++j) later += "u" + std::to_string(u) + ",new" + std::to_string(j) + ",1\n";
  auto a = dir.write("a.csv", first);
  auto b = dir.write("b.csv", later);
  auto json = (dir / "train.json").string();
  auto t = run_recsys({"--db", db, "train", a.string(), "--no-refit", "--metrics-json", json}, dir);
  INFO(t.err);
  REQUIRE(t.status == 0);
  REQUIRE(run_recsys({"--db", db, "import", b.string(), "--append"}, dir).status == 0);
  auto ejson = (dir / "evaluate.json").string();
  auto e = run_recsys({"--db", db, "evaluate", "--metrics-json", ejson}, dir);
  INFO(e.err);
  REQUIRE(e.status == 0);
  CHECK_THAT(e.err, Catch::Contains(" users and 2 items stored after generation 1 was trained were left out"));
  auto trained = slurp(json), evaluated = slurp(ejson);
  trained = trained.substr(trained.find("\"model\":"));
  evaluated = evaluated.substr(evaluated.find("\"model\":"));
  CHECK(json_number(evaluated, "users") == json_number(trained, "users"));
  CHECK(json_number(evaluated, "ndcg_at_k") == Approx(json_number(trained, "ndcg_at_k")));
}

// With nothing evaluated, the table printed 0.0000 everywhere (an RMSE of 0
// read as perfect) and the stored metrics said the same.
TEST_CASE("metrics of nothing evaluated are n/a and null, not zeros") {
  TempDir dir;
  auto db = (dir / "db").string();
  // Every item rated once: the test part holds items without a train rating.
  std::string rows;
  for (int u = 1; u <= 20; ++u)
    for (int j = 0; j < 3; ++j) rows += "u" + std::to_string(u) + ",i" + std::to_string(u) + "_" + std::to_string(j) + "," + std::to_string((u + j) % 5 + 1) + "\n";
  auto cold = dir.write("cold.csv", rows);
  auto json = (dir / "m.json").string();
  auto r = run_recsys({"--db", db, "train", cold.string(), "--feedback", "explicit", "--no-refit", "--metrics-json", json},
                      dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("RMSE                 n/a"));
  CHECK_THAT(r.out, Catch::Contains("20 test ratings of items without a train rating (never ranked: no hit possible)"));
  auto m = slurp(json);
  CHECK_THAT(m, Catch::Contains(R"("rmse":null,"mae":null,"predicted":0)"));
  CHECK_THAT(m, Catch::Contains(R"("untrained_test_ratings":20)"));
  CHECK_THAT(run_recsys({"--db", db, "models", "list"}, dir).out, !Catch::Contains("RMSE 0.0000"));

  // Two users with one rating each: the test part is empty.
  auto db2 = (dir / "db2").string();
  auto two = dir.write("two.csv", "a,x,1\nb,y,1\n");
  auto json2 = (dir / "m2.json").string();
  r = run_recsys({"--db", db2, "train", two.string(), "--metrics-json", json2}, dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("nDCG@10              n/a"));
  CHECK_THAT(r.out, Catch::Contains("nothing to rank: no test rating to score"));
  CHECK_THAT(run_recsys({"--db", db2, "info"}, dir).out, Catch::Contains("nothing evaluated (the test part was empty)"));
  // A model trained on everything has no metrics at all: info said the test part was empty.
  REQUIRE(run_recsys({"--db", db2, "train", "--split", "none"}, dir).status == 0);
  CHECK_THAT(run_recsys({"--db", db2, "info"}, dir).out,
             Catch::Contains("not evaluated (trained with --split none, or imported)"));
  CHECK_THAT(slurp(json2), Catch::Contains(R"("ndcg_at_k":null)"));
  CHECK_THAT(run_recsys({"--db", db2, "models", "list"}, dir).out, !Catch::Contains("nDCG@10 0.0000"));
}

TEST_CASE("the stored loss is the last printed loss: the objective per rating") {
  TempDir dir;
  auto file = dir.write("r.csv", "user,item,rating\nA,a,5\nA,b,4\nB,a,3\nB,c,4\nC,b,2\nC,c,5\n");
  auto db = (dir / "db").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--split", "none", "--factors", "2", "--iterations", "3"},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto at = r.err.find("3/3 iterations");
  REQUIRE(at != std::string::npos);
  at = r.err.find("loss ", at);
  REQUIRE(at != std::string::npos);
  double printed = std::strtod(r.err.c_str() + at + 5, nullptr);
  REQUIRE(printed > 0);
  auto handle = open_test_db(dir, recsys::store::OpenMode::ReadOnly);
  auto txn = handle.begin_read();
  auto model = recsys::store::latest_model(handle, txn);
  REQUIRE(model);
  CHECK(json_number(model->description, "loss") == Approx(printed).epsilon(1e-5));
}

TEST_CASE("train --user-norm stores the exponent and the mean ratings per user that fold-in uses") {
  TempDir dir;
  // Users rate 1, 2, 3 and 6 items: 12 ratings over 4 users, 3 per user on average.
  auto file = dir.write("r.csv", "user,item,rating\nA,a,5\nB,a,3\nB,b,4\nC,a,2\nC,b,5\nC,c,4\n"
                                 "D,a,1\nD,b,2\nD,c,3\nD,d,4\nD,e,5\nD,f,4\n");
  auto db = (dir / "db").string();
  auto r = run_recsys({"--db", db, "train", file.string(), "--split", "none", "--factors", "2", "--iterations", "3",
                       "--user-norm", "0.5"},
                      dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto handle = open_test_db(dir, recsys::store::OpenMode::ReadOnly);
  auto txn = handle.begin_read();
  auto model = recsys::store::latest_model(handle, txn);
  REQUIRE(model);
  CHECK(json_number(model->description, "user_norm") == Approx(0.5));
  CHECK(json_number(model->description, "mean_user_ratings") == Approx(3.0));
}
