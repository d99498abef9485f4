// kill -9 at seeded random moments of import, train, precompute, tune and of
// a server taking events, with the real binary. After every kill `recsys check`
// passes, readers get lists of one generation only, and every event the server
// acknowledged is stored. RECSYS_CRASH_KILLS (default 3) kills per phase,
// RECSYS_CRASH_SEED (default 1) the moments; bench/crash.sh runs 20 per phase.
// One phase kills one of two servers on a database while both take events.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include <cstdio>

#include "crash.hpp"
#include "store/tuned.hpp"

using namespace recsys;
using namespace recsys::test;
using Clock = std::chrono::steady_clock;

namespace {

unsigned kills() { return env_unsigned("RECSYS_CRASH_KILLS", 3); }
unsigned seed() { return env_unsigned("RECSYS_CRASH_SEED", 1); }

// Big enough that each command runs a few hundred milliseconds here.
PipelineOptions crash_data() {
  PipelineOptions o;
  o.users = 4000;
  o.items = 1500;
  o.ratings = 150000;
  o.factors = 16;
  o.iterations = 4;
  return o;
}

// Runs a command to completion; returns how long it took.
std::chrono::milliseconds timed(const TempDir& dir, const std::vector<std::string>& args) {
  auto start = Clock::now();
  must_run(args, dir);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start) * 6 / 5 +
         std::chrono::milliseconds(20);
}

struct Stored {
  std::uint64_t ratings = 0;
  std::size_t models = 0;
  std::optional<std::uint32_t> serving;
  std::optional<std::string> tuned;  // the tuned defaults document
};

Stored stored(const std::string& db) {
  store::OpenOptions o;
  o.path = db;
  o.mode = store::OpenMode::ReadOnly;
  auto handle = store::Database::open(o);
  auto txn = handle.begin_read();
  return {store::rating_stats(handle, txn).count, store::list_models(handle, txn).size(),
          store::serving_generation(handle, txn), store::tuned_defaults(handle, txn)};
}

void report(const PhaseResult& r) {
  std::printf("%s\n", r.line().c_str());
  std::fflush(stdout);
  for (const auto& p : r.problems) UNSCOPED_INFO(p);
  CHECK(r.problems.empty());
  REQUIRE(r.check_failures == 0);
  REQUIRE(r.mixed == 0);
  REQUIRE(r.found == r.acked);
}

}  // namespace

TEST_CASE("kill -9 during import, train and precompute leaves a sound database serving one generation") {
  TempDir dir;
  std::mt19937 rng(seed());
  std::printf("crash test: %u kills per phase, seed %u\n", kills(), seed());
  std::string db = build_pipeline_db(dir, "crash.db", crash_data());
  auto o = crash_data();
  std::string other = (dir / "other.csv").string();
  must_run({"generate", "--users", std::to_string(o.users), "--items", std::to_string(o.items), "--ratings",
            std::to_string(o.ratings * 4 / 3), "--seed", "99", "-o", other},
           dir);

  // import: replaces the ratings with one file or the other; a kill leaves
  // exactly one file's ratings, never a part.
  std::vector<std::string> files{(dir / "crash.db.csv").string(), other};
  std::vector<std::uint64_t> counts;
  std::chrono::milliseconds window{0};
  for (const auto& f : files) {
    window = std::max(window, timed(dir, {"--db", db, "import", "--replace", f}));
    counts.push_back(stored(db).ratings);
  }
  REQUIRE(counts[0] != counts[1]);
  unsigned turn = 0;
  auto imports = kill_command(
      dir, "import", kills(), rng, window, [&] { return std::vector<std::string>{"--db", db, "import", "--replace", files[++turn % 2]}; },
      [&](PhaseResult& r) {
        auto n = stored(db).ratings;
        if (n != counts[0] && n != counts[1]) r.problems.push_back(fmt::format("import left {} ratings", n));
      });
  report(imports);

  // train: a kill adds a whole generation or none.
  std::vector<std::string> train{"--db", db, "--threads", "1", "train", "--factors", "16", "--iterations", "4",
                                 "--split", "none"};
  window = timed(dir, train);
  std::size_t models = stored(db).models;
  auto trains = kill_command(
      dir, "train", kills(), rng, window, [&] { return train; },
      [&](PhaseResult& r) {
        auto now = stored(db).models;
        if (now != models && now != models + 1) r.problems.push_back(fmt::format("{} models after {}", now, models));
        models = now;
      });
  report(trains);

  // precompute: switches between generation 1 and the latest; a kill leaves
  // one of them serving, with all of its lists.
  auto latest = std::to_string(stored(db).models);
  window = timed(dir, {"--db", db, "--threads", "1", "precompute", "--model", latest});
  auto precomputes = kill_command(
      dir, "precompute", kills(), rng, window,
      [&] {
        std::string target = stored(db).serving == 1u ? latest : "1";
        return std::vector<std::string>{"--db", db, "--threads", "1", "precompute", "--model", target};
      },
      [&](PhaseResult& r) {
        auto serving = stored(db).serving;
        if (serving != 1u && serving != static_cast<std::uint32_t>(std::stoul(latest))) {
          r.problems.push_back(fmt::format("serving generation {} after precompute", serving.value_or(0)));
        }
      });
  report(precomputes);

  // tune: its result is one transaction at the end; a kill leaves the
  // previous document or a whole new one (tuned_at differs), never a part.
  // Two trials, however long they take: a 2 s budget ended the defaults'
  // trial before it finished under ASan, and nothing was stored.
  std::vector<std::string> tune{"--db", db, "--threads", "1", "tune", "--budget", "10m", "--max-trials", "2",
                                "--models", "ials"};
  window = timed(dir, tune);
  auto document = stored(db).tuned;
  REQUIRE(document.has_value());
  auto tunes = kill_command(
      dir, "tune", kills(), rng, window, [&] { return tune; },
      [&](PhaseResult& r) {
        auto now = stored(db).tuned;
        if (!now) {
          r.problems.push_back("tune: the tuned defaults are gone");
          return;
        }
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (parser.parse(*now).get(doc) != simdjson::SUCCESS || doc["settings"]["family"].error() ||
            doc["value"].error())
          r.problems.push_back("tune left a document that is not whole: " + *now);
        document = now;
      });
  report(tunes);
}

TEST_CASE("kill -9 of a server taking events loses no acknowledged event") {
  TempDir dir;
  std::mt19937 rng(seed() + 1);
  std::string db = build_pipeline_db(dir, "serve.db");
  auto serve = kill_server(dir, db, kills(), rng);
  REQUIRE(serve.acked > 0);
  report(serve);
}

// Two servers on one database: LMDB's write lock is a process-shared mutex in
// the lock file, robust in LMDB's default build (MDB_USE_ROBUST): the next
// locker recovers it from a dead owner. One server is killed at a random
// moment, possibly inside its write transaction while holding that lock; the
// other must go on acknowledging events, and nothing either of them
// acknowledged may be lost.
TEST_CASE("kill -9 of one of two servers on a database leaves the other taking events, and loses no acknowledged event") {
  TempDir dir;
  std::mt19937 rng(seed() + 2);
  std::string db = build_pipeline_db(dir, "two.db");
  PhaseResult result;
  result.phase = "two serve";
  std::uniform_int_distribution<long> delay(200, 1200);
  for (unsigned k = 0; k < kills(); ++k) {
    std::vector<std::vector<Acked>> ledgers(4);
    {
      Server killed(dir, db), survivor(dir, db);
      std::atomic<bool> stop{false};
      std::vector<std::thread> threads;
      for (int c = 0; c < 4; ++c) {
        const int port = c < 2 ? killed.port() : survivor.port();
        threads.emplace_back([&, c, port] { post_until_dead(port, c, k, stop, ledgers[static_cast<std::size_t>(c)]); });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
      killed.process().signal(SIGKILL);
      // The survivor's clients go on; then one more event of its own, on a new connection.
      const auto before = ledgers[2].size() + ledgers[3].size();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      auto after = Connection(survivor.port())
                       .request("POST", "/v1/events", fmt::format(R"({{"user":"after-kill-{}","item":"1","value":2}})", k));
      stop = true;
      for (auto& t : threads) t.join();
      INFO(survivor.process().current_stderr());
      REQUIRE(after.status == 200);
      REQUIRE(ledgers[2].size() + ledgers[3].size() > before);
      REQUIRE(survivor.stop().status == 0);
    }
    ++result.kills;
    std::vector<Acked> ledger;
    for (auto& l : ledgers) ledger.insert(ledger.end(), l.begin(), l.end());
    ledger.push_back(Acked{fmt::format("after-kill-{}", k), "1", 2.0f});
    result.acked += ledger.size();
    const auto found = events_found(db, ledger);
    result.found += found;
    if (found != ledger.size())
      result.problems.push_back(fmt::format("kill {}: {} of {} acknowledged events missing", k, ledger.size() - found, ledger.size()));
    verify_after_kill(dir, db, result);
  }
  REQUIRE(result.acked > 0);
  report(result);
}
