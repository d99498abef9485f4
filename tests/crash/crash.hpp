// Crash harness: runs the real binary, kills it with SIGKILL at seeded random
// moments, and verifies what survived. Used by crash_test.cpp (a few kills per
// phase) and by bench/crash.sh (RECSYS_CRASH_KILLS, default 20 there).
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../http/client.hpp"
#include "pipeline.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "test_db.hpp"

namespace recsys::test {

inline unsigned env_unsigned(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

// What one phase's kills left behind; every count is summed over the kills.
struct PhaseResult {
  std::string phase;
  unsigned kills = 0;
  unsigned finished = 0;       // runs that completed before their kill
  std::uint64_t acked = 0;     // events acknowledged with 2xx
  std::uint64_t found = 0;     // of those, stored afterwards with their value
  unsigned check_failures = 0; // `recsys check` exit status != 0
  unsigned mixed = 0;          // caches not all of the serving generation
  std::vector<std::string> problems;

  std::string line() const {
    return fmt::format("{:<11} kills {:>3}  finished first {:>3}  acknowledged events {:>7}  found {:>7}  "
                       "check failures {:>2}  mixed generations {:>2}",
                       phase, kills, finished, acked, found, check_failures, mixed);
  }
};

// The serving generation and whether every list `recommend --all` prints
// carries it (what a reader gets after the crash).
inline bool caches_consistent(const TempDir& dir, const std::string& db, std::string& why) {
  std::optional<std::uint32_t> serving;
  {
    store::OpenOptions o;
    o.path = db;
    o.mode = store::OpenMode::ReadOnly;
    auto handle = store::Database::open(o);
    auto txn = handle.begin_read();
    serving = store::serving_generation(handle, txn);
  }
  auto r = run_recsys({"--db", db, "recommend", "--all", "--json"}, dir);
  if (r.status != 0) {
    why = "recommend --all failed: " + r.err;
    return false;
  }
  static const std::regex model("\"model\":([0-9]+)");
  std::size_t lines = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), model), end; it != end; ++it, ++lines) {
    if (!serving || std::stoul((*it)[1]) != *serving) {
      why = fmt::format("a list of generation {} while generation {} serves", (*it)[1].str(), serving.value_or(0));
      return false;
    }
  }
  if (lines == 0) why = "recommend --all printed no list";
  return lines > 0;
}

// After a kill: check passes and the caches serve one generation.
inline void verify_after_kill(const TempDir& dir, const std::string& db, PhaseResult& result) {
  auto check = run_recsys({"--db", db, "check"}, dir);
  if (check.status != 0) {
    ++result.check_failures;
    result.problems.push_back(fmt::format("{} kill {}: check: {}{}", result.phase, result.kills, check.out, check.err));
  }
  std::string why;
  if (!caches_consistent(dir, db, why)) {
    ++result.mixed;
    result.problems.push_back(fmt::format("{} kill {}: {}", result.phase, result.kills, why));
  }
}

// Runs `args` `kills` times, each killed after a random delay in [0, window).
// `before`/`after` run around each kill (e.g. to pick arguments, to verify).
template <typename Before, typename After>
PhaseResult kill_command(const TempDir& dir, const std::string& phase, unsigned kills, std::mt19937& rng,
                         std::chrono::milliseconds window, Before before, After after) {
  PhaseResult result;
  result.phase = phase;
  std::uniform_int_distribution<long> delay(0, window.count() - 1);
  for (unsigned k = 0; k < kills; ++k) {
    std::vector<std::string> argv{recsys_bin()};
    auto args = before();
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, dir.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
    p.signal(SIGKILL);
    auto r = p.wait();
    ++result.kills;
    if (r.status == 0) ++result.finished;
    verify_after_kill(dir, args[1], result);
    after(result);
  }
  return result;
}

// One acknowledged event of the ledger.
struct Acked {
  std::string user, item;
  float value;
  std::int64_t at_ns = 0;  // steady_clock (CLOCK_MONOTONIC) when the 2xx arrived
};

// Clients POST events (batches of 1-4, every (user, item) pair new) to a
// server until it dies; a POST answered 2xx goes into the ledger.
inline void post_until_dead(int port, int client, unsigned round, std::atomic<bool>& stop, std::vector<Acked>& ledger) {
  try {
    Connection c(port);
    for (int n = 0; !stop; ++n) {
      std::vector<Acked> batch;
      std::string body = "[";
      for (int e = 0; e < 1 + n % 4; ++e) {
        Acked a{fmt::format("crash-{}-{}-{}", round, client, n), std::to_string(1 + e), 1.0f + static_cast<float>(e), 0};
        if (e) body += ',';
        body += fmt::format(R"({{"user":"{}","item":"{}","value":{}}})", a.user, a.item, a.value);
        batch.push_back(std::move(a));
      }
      body += ']';
      auto r = c.request("POST", "/v1/events", body);
      if (r.status / 100 != 2) continue;
      auto now = std::chrono::steady_clock::now().time_since_epoch();
      for (auto& a : batch) a.at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
      ledger.insert(ledger.end(), batch.begin(), batch.end());
    }
  } catch (const std::exception&) {
    // the server was killed: the connection breaks
  }
}

// How many ledger events are stored with their value.
inline std::uint64_t events_found(const std::string& db, const std::vector<Acked>& ledger) {
  store::OpenOptions o;
  o.path = db;
  o.mode = store::OpenMode::ReadOnly;
  auto handle = store::Database::open(o);
  auto txn = handle.begin_read();
  std::uint64_t found = 0;
  for (const auto& a : ledger) {
    auto user = store::find_index(handle, txn, store::IdKind::User, a.user);
    auto item = store::find_index(handle, txn, store::IdKind::Item, a.item);
    if (!user || !item) continue;
    for (const auto& r : store::get_user_ratings(handle, txn, *user)) found += r.item == *item && r.value == a.value;
  }
  return found;
}

// kill -9 of a server taking events from `clients` clients, `kills` times.
inline PhaseResult kill_server(const TempDir& dir, const std::string& db, unsigned kills, std::mt19937& rng,
                               int clients = 4) {
  PhaseResult result;
  result.phase = "serve";
  std::uniform_int_distribution<long> delay(200, 1200);
  for (unsigned k = 0; k < kills; ++k) {
    std::vector<std::vector<Acked>> ledgers(static_cast<std::size_t>(clients));
    {
      Server server(dir, db);
      std::atomic<bool> stop{false};
      std::vector<std::thread> threads;
      for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] { post_until_dead(server.port(), c, k, stop, ledgers[static_cast<std::size_t>(c)]); });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
      server.process().signal(SIGKILL);  // ~Server reaps it
      stop = true;
      for (auto& t : threads) t.join();
    }
    ++result.kills;
    std::vector<Acked> ledger;
    for (auto& l : ledgers) ledger.insert(ledger.end(), l.begin(), l.end());
    result.acked += ledger.size();
    auto found = events_found(db, ledger);
    result.found += found;
    if (found != ledger.size()) {
      result.problems.push_back(fmt::format("serve kill {}: {} of {} acknowledged events missing", k,
                                            ledger.size() - found, ledger.size()));
    }
    verify_after_kill(dir, db, result);
  }
  return result;
}

}  // namespace recsys::test
