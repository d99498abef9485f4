// Simulated power loss while a server takes events: the server runs with the
// power-loss shim (LD_PRELOAD, power_loss_shim.c), is killed with SIGKILL at a
// seeded random moment, and its unsynced writes are rolled back page by page
// (power_loss.hpp). Then `recsys check` must pass and every event acknowledged
// before the last completed sync began must be stored.
// RECSYS_CRASH_KILLS (default 3) and RECSYS_CRASH_SEED as in crash_test.cpp;
// RECSYS_POWER_LOSS_SERVE_ARGS adds serve options (e.g. --sync-every-commit).
#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>

#include "crash.hpp"
#include "power_loss.hpp"

using namespace recsys;
using namespace recsys::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> serve_args() {
  std::vector<std::string> out;
  const char* env = std::getenv("RECSYS_POWER_LOSS_SERVE_ARGS");
  std::istringstream in(env ? env : "");
  for (std::string a; in >> a;) out.push_back(a);
  return out;
}

// Sets the shim's variables for the next child. A sanitized recsys would
// refuse a preloaded library before its runtime without verify_asan_link_order=0.
void preload_shim(const std::string& shim, const fs::path& data, const fs::path& journal) {
  setenv("LD_PRELOAD", shim.c_str(), 1);
  setenv("RECSYS_PL_FILE", data.c_str(), 1);
  setenv("RECSYS_PL_JOURNAL", journal.c_str(), 1);
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string options = asan ? asan : "";
  if (options.find("verify_asan_link_order") == std::string::npos) {
    setenv("ASAN_OPTIONS", (options + (options.empty() ? "" : ":") + "verify_asan_link_order=0").c_str(), 1);
  }
}

// Starts `recsys serve` with the shim preloaded (the variables reach only the
// child: the test process itself was not started with them).
std::unique_ptr<Server> start_with_shim(const TempDir& dir, const std::string& db, const std::string& shim,
                                        const fs::path& journal) {
  preload_shim(shim, fs::path(db) / "data.mdb", journal);
  std::unique_ptr<Server> server;
  try {
    server = std::make_unique<Server>(dir, db, serve_args());
  } catch (...) {
    unsetenv("LD_PRELOAD");
    throw;
  }
  unsetenv("LD_PRELOAD");
  return server;
}

}  // namespace

TEST_CASE("power loss while a server takes events keeps the database sound and every synced event") {
  const char* shim = std::getenv("RECSYS_POWER_LOSS_SHIM");
  if (!shim || !*shim) {
    WARN("RECSYS_POWER_LOSS_SHIM is not set: run through meson test");
    return;
  }
  unsigned kills = env_unsigned("RECSYS_CRASH_KILLS", 3);
  std::mt19937 rng(env_unsigned("RECSYS_CRASH_SEED", 1) + 2);
  TempDir dir;
  std::string db = build_pipeline_db(dir, "pl.db");
  fs::path data = fs::path(db) / "data.mdb";
  fs::copy_file(data, dir / "pristine.mdb");

  std::uint64_t acked = 0, synced = 0, synced_found = 0, found = 0;
  unsigned check_failures = 0, without_sync = 0;
  std::size_t rolled_back = 0;
  std::vector<std::string> problems;
  std::uniform_int_distribution<long> delay(600, 2500);
  for (unsigned k = 0; k < kills; ++k) {
    fs::copy_file(dir / "pristine.mdb", data, fs::copy_options::overwrite_existing);
    fs::path journal = dir / ("journal-" + std::to_string(k));
    std::vector<std::vector<Acked>> ledgers(4);
    {
      auto server = start_with_shim(dir, db, shim, journal);
      std::atomic<bool> stop{false};
      std::vector<std::thread> threads;
      for (int c = 0; c < 4; ++c) {
        threads.emplace_back([&, c] { post_until_dead(server->port(), c, k, stop, ledgers[static_cast<std::size_t>(c)]); });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
      server->process().signal(SIGKILL);  // the power fails: ~Server reaps the process
      stop = true;
      for (auto& t : threads) t.join();
    }
    auto loss = lose_power(data, journal, rng, /*drop_all=*/k % 3 == 0);
    rolled_back += loss.rolled_back;
    fs::remove(journal);

    std::vector<Acked> ledger, before_sync;
    for (auto& l : ledgers) ledger.insert(ledger.end(), l.begin(), l.end());
    for (const auto& a : ledger) {
      if (loss.last_sync_ns && a.at_ns < *loss.last_sync_ns) before_sync.push_back(a);
    }
    if (!loss.last_sync_ns) ++without_sync;
    acked += ledger.size();
    synced += before_sync.size();

    auto check = run_recsys({"--db", db, "check"}, dir);
    if (check.status != 0) {
      ++check_failures;
      problems.push_back(fmt::format("kill {}: check: {}{}", k, check.out.substr(0, 2000), check.err));
      continue;  // reading a damaged file could fault: count its events as lost
    }
    auto f = events_found(db, before_sync);
    synced_found += f;
    found += events_found(db, ledger);
    if (f != before_sync.size()) {
      problems.push_back(fmt::format("kill {}: {} of {} events acknowledged before the last sync are missing", k,
                                     before_sync.size() - f, before_sync.size()));
    }
  }
  std::string args;
  for (const auto& a : serve_args()) args += " " + a;
  std::printf("power loss  kills %3u  acknowledged events %7llu  before the last sync %7llu  found %7llu  "
              "(all acknowledged found %llu)  check failures %2u  pages rolled back %zu  kills before any sync %u  "
              "[serve%s]\n",
              kills, static_cast<unsigned long long>(acked), static_cast<unsigned long long>(synced),
              static_cast<unsigned long long>(synced_found), static_cast<unsigned long long>(found), check_failures,
              rolled_back, without_sync, args.c_str());
  std::fflush(stdout);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(all);
  REQUIRE(acked > 0);
  REQUIRE(check_failures == 0);
  REQUIRE(synced_found == synced);
}

TEST_CASE("power loss during import, train and precompute keeps the database sound") {
  const char* shim = std::getenv("RECSYS_POWER_LOSS_SHIM");
  if (!shim || !*shim) {
    WARN("RECSYS_POWER_LOSS_SHIM is not set: run through meson test");
    return;
  }
  unsigned kills = env_unsigned("RECSYS_CRASH_KILLS", 3);
  std::mt19937 rng(env_unsigned("RECSYS_CRASH_SEED", 1) + 3);
  TempDir dir;
  PipelineOptions o;
  o.users = 2000;
  o.items = 1000;
  o.ratings = 100000;
  std::string db = build_pipeline_db(dir, "cli.db", o);
  fs::path data = fs::path(db) / "data.mdb";
  std::string csv = (dir / "cli.db.csv").string();
  // Each command is killed after a random part of its measured duration.
  std::vector<std::vector<std::string>> commands{
      {"--db", db, "import", "--append", csv},
      {"--db", db, "--threads", "1", "train", "--factors", "8", "--iterations", "3", "--split", "none"},
      {"--db", db, "--threads", "1", "precompute", "--k", "10"}};
  const char* names[] = {"import", "train", "precompute"};
  std::vector<long> windows;
  for (const auto& c : commands) {
    auto start = std::chrono::steady_clock::now();
    must_run(c, dir);
    windows.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count() + 20);
  }
  unsigned runs = 0, check_failures = 0;
  std::size_t rolled_back = 0;
  std::string problems;
  for (std::size_t c = 0; c < commands.size(); ++c) {
    for (unsigned k = 0; k < kills; ++k, ++runs) {
      fs::path journal = dir / fmt::format("journal-{}-{}", c, k);
      std::vector<std::string> argv{recsys_bin()};
      argv.insert(argv.end(), commands[c].begin(), commands[c].end());
      preload_shim(shim, data, journal);
      Process p(argv, dir.path());
      unsetenv("LD_PRELOAD");
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<long>(0, windows[c])(rng)));
      p.signal(SIGKILL);
      p.wait();
      rolled_back += lose_power(data, journal, rng, /*drop_all=*/k % 2 == 0).rolled_back;
      fs::remove(journal);
      auto check = run_recsys({"--db", db, "check"}, dir);
      if (check.status != 0) {
        ++check_failures;
        problems += fmt::format("{} kill {}: {}{}\n", names[c], k, check.out.substr(0, 2000), check.err);
        break;  // the next runs would start from a damaged file
      }
    }
  }
  std::printf("power loss  during import, train, precompute: runs %u  check failures %u  pages rolled back %zu\n", runs,
              check_failures, rolled_back);
  std::fflush(stdout);
  INFO(problems);
  REQUIRE(check_failures == 0);
}
