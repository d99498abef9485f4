// The tie rule and the settings of tune (src/tune), on hand-made trials.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tune/runner.hpp"
#include "tune/search.hpp"
#include "tune/settings.hpp"
#include "tune/trial.hpp"
#include "tune/validation.hpp"
#include "util/random.hpp"

using namespace recsys;
using namespace recsys::tune;

namespace {

TrialResult trial(std::size_t id, std::uint32_t factors, std::vector<double> per_user) {
  TrialResult t;
  t.id = id;
  t.settings.factors = factors;
  double sum = 0;
  for (double x : per_user) sum += x;
  t.metric = sum / static_cast<double>(per_user.size());
  t.per_user = std::move(per_user);
  return t;
}

// Noisy per-user scores around `mean`, from a shared stream (paired users).
std::vector<double> users(double mean, double shift_noise, std::uint64_t seed) {
  SplitMix base(1), own(seed);
  std::vector<double> v(400), noise(400);
  double noise_mean = 0;
  for (auto& n : noise) noise_mean += (n = shift_noise * (own.uniform() - 0.5)) / 400.0;
  // The user's own noise is centred, so the trial's mean is `mean` plus the shared part.
  for (std::size_t j = 0; j < v.size(); ++j) v[j] = mean + 0.3 * (base.uniform() - 0.5) + noise[j] - noise_mean;
  return v;
}

}  // namespace

TEST_CASE("tune prefers the simpler model only when the difference is within the bootstrap interval") {
  // The best has 128 factors; a 32-factor trial is 0.001 lower with user noise
  // far larger: indistinguishable, so it is chosen.
  std::vector<TrialResult> tied{trial(1, 128, users(0.500, 0.2, 2)), trial(2, 32, users(0.499, 0.2, 3))};
  REQUIRE(tied[0].metric > tied[1].metric);
  CHECK(choose(tied, 0, -1) == 1);
  // The same trial below the defaults' validation score (the floor) is not.
  CHECK(choose(tied, 0, tied[0].metric - 1e-9) == 0);
  // 0.05 lower on every user is a real difference: the best stays.
  std::vector<TrialResult> apart{trial(1, 128, users(0.50, 0.0, 2)), trial(2, 32, users(0.45, 0.0, 3))};
  CHECK(choose(apart, 0, -1) == 0);
  // A tied trial that is not simpler (more factors) is never chosen over the best.
  std::vector<TrialResult> bigger{trial(1, 32, users(0.500, 0.2, 2)), trial(2, 128, users(0.499, 0.2, 3))};
  CHECK(choose(bigger, 0, -1) == 0);
  // Below the defaults' 64 factors a model is no simpler: of tied 32 and 64,
  // the higher metric, whichever comes first.
  std::vector<TrialResult> small{trial(1, 128, users(0.500, 0.2, 2)), trial(2, 64, users(0.4995, 0.2, 4)),
                                 trial(3, 32, users(0.499, 0.2, 3))};
  CHECK(choose(small, 0, -1) == 1);
  std::swap(small[1], small[2]);
  CHECK(choose(small, 0, -1) == 2);
}

TEST_CASE("EASE is simpler than iALS and fewer factors (down to the defaults' 64) simpler than more but iterations do not count") {
  Settings ials = default_ials();
  Settings ease;
  ease.family = Family::Ease;
  CHECK(simpler(ease, ials));
  CHECK_FALSE(simpler(ials, ease));
  Settings small = ials;
  small.factors = 48;
  Settings large = ials;
  large.factors = 96;
  CHECK(simpler(ials, large));
  CHECK(simpler(small, large));
  // Fewer factors than the defaults' 64 count as 64.
  CHECK_FALSE(simpler(small, ials));
  CHECK_FALSE(simpler(ials, small));
  Settings shorter = ials;
  shorter.iterations = 5;
  CHECK_FALSE(simpler(shorter, ials));
  CHECK_FALSE(simpler(ials, shorter));
}

TEST_CASE("tuned settings read back from their JSON and bad documents are refused") {
  SplitMix rng(11);
  for (int n = 0; n < 20; ++n) {
    Settings s = sample_ials(rng, kSearchMaxFactors);
    s.iterations = 8;
    CHECK(settings_from_json(settings_json(s)) == s);
  }
  // Settings stored before the user norm existed were tuned without it.
  CHECK(settings_from_json(R"({"family":"ials","factors":32,"regularization":40,"alpha":8,"confidence":"log","iterations":9})")
            .user_norm == 0);
  Settings e;
  e.family = Family::Ease;
  e.factors = 0;
  e.alpha = 0;
  e.iterations = 1;
  e.confidence = model::Confidence::Binary;
  e.regularization = 300;
  CHECK(settings_from_json(settings_json(e)) == e);
  CHECK_THROWS_WITH(settings_from_json("[1]"), Catch::Contains("not a JSON object"));
  CHECK_THROWS_WITH(settings_from_json("{\"family\":\"svd\"}"), Catch::Contains("unknown model family 'svd'"));
  CHECK_THROWS_WITH(settings_from_json("{}"), Catch::Contains("no family"));
}

TEST_CASE("refinement moves change one setting at a time by the step") {
  Settings s = default_ials();
  REQUIRE(s.user_norm == 0);
  s.user_norm = 0.25f;
  for (double step : {2.0, std::sqrt(2.0)}) {
    auto moves = neighbours(s, step, kSearchMaxFactors);
    CHECK(moves.size() == 8);  // λ, α, factors, iterations: × and ÷
    for (const auto& m : moves) {
      int changed = (m.regularization != s.regularization) + (m.alpha != s.alpha) + (m.factors != s.factors) +
                    (m.iterations != s.iterations);
      CHECK(changed == 1);
      CHECK(m.confidence == s.confidence);
      CHECK(m.user_norm == s.user_norm);  // moved only by the last search step
    }
  }
}

TEST_CASE("the factor ceiling is the smaller of the users and items rounded up to 8, and every move respects it") {
  CHECK(factor_ceiling(943, 1682) == kSearchMaxFactors);  // ML-100k: unbounded as before
  CHECK(factor_ceiling(610, 9724) == kSearchMaxFactors);  // ml-latest-small
  CHECK(factor_ceiling(80, 48) == 48);
  CHECK(factor_ceiling(1000, 41) == 48);
  CHECK(factor_ceiling(3, 100) == 8);
  CHECK(factor_ceiling(0, 0) == 8);
  // Draws are those of the whole list, capped: the same plan where the cap does not bind.
  SplitMix a(5), b(5);
  for (int n = 0; n < 200; ++n) {
    const Settings unbounded = sample_ials(a, kSearchMaxFactors);
    const Settings capped = sample_ials(b, 48);
    CHECK(capped.factors == std::min<std::uint32_t>(unbounded.factors, 48));
    CHECK(capped.regularization == unbounded.regularization);
  }
  Settings s = default_ials();
  s.factors = 32;
  for (const auto& m : neighbours(s, 2.0, 48)) CHECK(m.factors <= 48);
  // Above the ceiling (the defaults' 64 on 48 items) the up move goes no higher.
  s.factors = 64;
  for (const auto& m : neighbours(s, 2.0, 48)) CHECK(m.factors <= 64);
  std::set<std::uint32_t> factors;
  s.factors = 32;
  for (const auto& v : confirmation_variants(s, 48)) factors.insert(v.factors);
  CHECK(factors == std::set<std::uint32_t>{32, 48});
  factors.clear();
  s.factors = 64;
  for (const auto& v : confirmation_variants(s, 48)) factors.insert(v.factors);
  CHECK(factors == std::set<std::uint32_t>{64});  // never fewer than the choice's own
}

TEST_CASE("the metric option takes ndcg at k or recall at k or map") {
  CHECK(parse_metric("ndcg@10").metric == Metric::Ndcg);
  CHECK(parse_metric("recall@20").k == 20);
  CHECK(parse_metric("map").metric == Metric::Map);
  CHECK(parse_metric("ndcg").name == "ndcg@10");
  CHECK_THROWS_WITH(parse_metric("auc"), Catch::Contains("unknown --metric 'auc'"));
  CHECK_THROWS_WITH(parse_metric("ndcg@x"), Catch::Contains("a number from 1 to 999999999"));
  CHECK_THROWS_WITH(parse_metric("ndcg@0"), Catch::Contains("a number from 1 to 999999999"));
  // Beyond unsigned long: a usage error, not std::out_of_range escaping as "error: stoul".
  CHECK_THROWS_AS(parse_metric("ndcg@99999999999999999999"), std::invalid_argument);
  CHECK_THROWS_AS(parse_metric("recall@1000000000"), std::invalid_argument);
  CHECK(parse_metric("recall@999999999").k == 999999999);
}

namespace {
// 300 users × 120 items, 20 ratings each: a search's trials take milliseconds.
TuneData small_data() {
  data::RatingTable all;
  all.n_users = 300;
  all.n_items = 120;
  SplitMix rng(3);
  for (std::uint32_t u = 0; u < all.n_users; ++u) {
    std::vector<bool> seen(all.n_items, false);
    for (int n = 0; n < 20;) {
      auto i = static_cast<std::uint32_t>(rng.below(all.n_items));
      if (seen[i]) continue;
      seen[i] = true;
      all.push_back(u, i, static_cast<float>(1 + rng.below(5)), 0);
      ++n;
    }
  }
  return carve_validation(all, data::SplitKind::Stratified, 0.25, 42);
}
}  // namespace

TEST_CASE("a plan cut between two batches reports the budget and the trials it skipped") {
  const TuneData data = small_data();
  SearchOptions o;
  // The first trial ends well inside the budget; its report then outlasts it,
  // so the budget ends between the defaults' batch and the next one. That
  // trial (300 users, 15 iterations) takes milliseconds in a release build;
  // under the sanitizers on a loaded machine it once took more than 1 s.
  const char* sanitized = std::getenv("RECSYS_SANITIZED");
  o.budget_seconds = sanitized && *sanitized && std::string(sanitized) != "0" ? 10.0 : 1.0;
  const auto start = std::chrono::steady_clock::now();
  const auto past_budget = std::chrono::milliseconds(static_cast<int>(o.budget_seconds * 1000) + 100);
  o.on_trial = [&](const TrialResult&) { std::this_thread::sleep_until(start + past_budget); };
  auto r = search(data, o);
  CHECK(r.trials.size() == 1);
  CHECK(r.out_of_budget);
  CHECK_FALSE(r.interrupted);
  CHECK(r.skipped > 0);
}

TEST_CASE("Ctrl-C between two batches reports the trials it skipped, not the budget") {
  const TuneData data = small_data();
  std::atomic<bool> stop{false};
  SearchOptions o;
  o.stop = &stop;
  o.on_trial = [&](const TrialResult&) { stop = true; };
  auto r = search(data, o);
  CHECK(r.trials.size() == 1);
  CHECK(r.interrupted);
  CHECK_FALSE(r.out_of_budget);
  CHECK(r.skipped > 0);
}

TEST_CASE("a trial that fails is reported and the rest of its batch and the search go on") {
  const TuneData data = small_data();
  SearchOptions o;
  o.threads = 2;
  std::vector<std::string> notes;
  o.on_note = [&](const std::string& n) { notes.push_back(n); };
  tune::detail::Runner runner(data, o);
  std::vector<tune::detail::Job> jobs(3);
  jobs[0].settings = ease_settings(-1e6f);  // λ ≤ 0: the fit throws
  jobs[1].settings = default_ials();
  jobs[1].settings.iterations = 3;
  jobs[2].settings = ease_settings(300.0f);
  for (auto& j : jobs) j.id = runner.next_id();
  runner.run(jobs);  // before: the failure escaped run() and ended the whole search
  CHECK(runner.failed() == 1);
  CHECK_FALSE(jobs[0].done);
  CHECK(jobs[1].done);
  CHECK(jobs[2].done);
  REQUIRE(runner.results().size() == 2);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("trial 1 failed (lambda -1e+06)") && Catch::Contains("regularization"));
  // The failed setting counts as tried: refinement does not run it again.
  REQUIRE(runner.failed_settings().size() == 1);
  CHECK(runner.failed_settings()[0] == ease_settings(-1e6f));
}

TEST_CASE("results are kept in trial order whatever order a batch's trials finish in") {
  const TuneData data = small_data();
  SearchOptions o;
  o.threads = 2;
  tune::detail::Runner runner(data, o);
  std::vector<tune::detail::Job> jobs(2);
  // Two at once, one thread each: the first is far slower, so it finishes last.
  jobs[0].settings = default_ials();
  jobs[0].settings.factors = 128;
  jobs[0].settings.iterations = 30;
  jobs[1].settings = default_ials();
  jobs[1].settings.factors = 8;
  jobs[1].settings.iterations = 1;
  for (auto& j : jobs) j.id = runner.next_id();
  runner.run(jobs);
  REQUIRE(runner.results().size() == 2);
  CHECK(runner.results()[0].id == 1);
  CHECK(runner.results()[1].id == 2);
}

TEST_CASE("the chosen setting gets the user norm that scored best on validation") {
  // Before, the user norm was tried on the best trial only: when the tie rule
  // chose a simpler setting, that one never had it (ML-100k: 0.4900 → 0.4931
  // mean test nDCG@10 over five splits, docs/training.md).
  const TuneData data = small_data();
  SearchOptions o;
  o.threads = 2;
  o.budget_seconds = 600;
  auto r = search(data, o);
  REQUIRE_FALSE(r.out_of_budget);
  const auto& t = r.trials;
  const Settings& chosen = t[r.chosen].settings;
  auto without_norm = [](Settings s) {
    s.user_norm = 0;
    return s;
  };
  INFO("chosen " << describe(chosen) << ", best " << describe(t[r.best].settings));
  REQUIRE(chosen.family == Family::Ials);
  bool tried = false;
  for (const auto& x : t) {
    if (without_norm(x.settings) != without_norm(chosen)) continue;
    CHECK(x.metric <= t[r.chosen].metric);
    tried = tried || x.settings.user_norm == 0.25f;
  }
  CHECK(tried);
}

TEST_CASE("the confirmation's candidates are the setting with twice its factors and iterations and the user norms") {
  Settings s = default_ials();
  s.iterations = 13;
  s.user_norm = 0.25f;
  auto v = confirmation_variants(s, kSearchMaxFactors);
  REQUIRE(v.size() == 8);  // 2 factors × 2 iterations × user norm {0.25, 0.5}
  CHECK(v[0] == s);
  std::set<std::uint32_t> factors, iterations;
  std::set<float> norms;
  for (const auto& n : v) {
    factors.insert(n.factors);
    iterations.insert(n.iterations);
    norms.insert(n.user_norm);
    CHECK(n.regularization == s.regularization);
    CHECK(n.alpha == s.alpha);
    CHECK(n.confidence == s.confidence);
  }
  CHECK(factors == std::set<std::uint32_t>{64, 128});
  CHECK(iterations == std::set<std::uint32_t>{13, 26});
  CHECK(norms == std::set<float>{0.25f, 0.5f});
  // The doubles stop at the search's ceilings; a user norm of 0 stays a candidate.
  s.factors = 512;
  s.iterations = 40;
  s.user_norm = 0;
  v = confirmation_variants(s, kSearchMaxFactors);
  CHECK(v.size() == 6);
  for (const auto& n : v) {
    CHECK(n.factors == 512);
    CHECK((n.iterations == 40 || n.iterations == 60));
  }
  CHECK(confirmation_variants(ease_settings(300), kSearchMaxFactors) == std::vector<Settings>{ease_settings(300)});
}

TEST_CASE("a confirmation beyond the budget leaves out its costliest variants, never the choice, the best or the defaults") {
  // ml-latest-small's search (2026-11-29): the tie rule chose 88 factors and
  // 60 iterations, the best had 264; two parts of all 13 candidates did not
  // fit in what the budget had left, so none ran.
  Settings chosen = default_ials(), best = default_ials();
  chosen.factors = 88;
  chosen.iterations = 60;
  best.factors = 264;
  best.iterations = 60;
  std::vector<Settings> candidates;
  for (const auto& base : {chosen, best})
    for (const auto& v : confirmation_variants(base, kSearchMaxFactors))
      if (std::find(candidates.begin(), candidates.end(), v) == candidates.end()) candidates.push_back(v);
  candidates.push_back(default_ials());
  REQUIRE(candidates.size() == 13);
  // A cost model: factors × iterations (tune passes its time estimates).
  auto one = [](const Settings& s) { return double(s.factors) * s.iterations; };
  auto cost = [&](const std::vector<Settings>& list) {
    double sum = 0;
    for (const auto& s : list) sum += one(s);
    return sum;
  };
  const std::vector<Settings> kept{chosen, best, default_ials()};
  // Room for all but two 512-factor variants (the best's doubled factors,
  // capped at the search's 512, with each user norm): two of them go, the
  // costliest first.
  auto some = candidates;
  const double budget = cost(candidates) - 2 * 512 * 60;
  auto removed = leave_out_costliest(some, kept, one, [&](const auto& list) { return cost(list) <= budget; });
  REQUIRE(removed.size() == 2);
  for (const auto& r : removed) CHECK(r.factors == 512);
  CHECK(removed[0].user_norm == 0.0f);  // the earlier of equal costs first
  CHECK(some.size() == 11);
  CHECK(cost(some) <= budget);
  // No room at all: only the three kept ones are left, in their order.
  auto none = candidates;
  removed = leave_out_costliest(none, kept, one, [](const auto&) { return false; });
  CHECK(removed.size() == 10);
  CHECK(none == std::vector<Settings>{chosen, best, default_ials()});
  for (std::size_t j = 1; j < removed.size(); ++j) {
    CHECK(one(removed[j]) <= one(removed[j - 1]));
  }
  // Room for everything: nothing is left out.
  auto all = candidates;
  CHECK(leave_out_costliest(all, kept, one, [](const auto&) { return true; }).empty());
  CHECK(all == candidates);
  // EASE settings are never left out (one λ, closed form: only the choice or the best is EASE).
  std::vector<Settings> with_ease{ease_settings(300), default_ials(), best};
  CHECK(leave_out_costliest(with_ease, {}, one, [](const auto&) { return false; }).size() == 2);
  CHECK(with_ease == std::vector<Settings>{ease_settings(300)});
}

TEST_CASE("confirmation parts come from the train part alone, a tenth held out, one seed per part") {
  const TuneData data = small_data();
  REQUIRE(data.train_part.size() == data.train.size() + data.validation.size());
  const TuneData a = carve_part(data, 0.1, 0);
  const TuneData a2 = carve_part(data, 0.1, 0);
  const TuneData b = carve_part(data, 0.1, 1);
  CHECK(a.train.size() + a.validation.size() == data.train_part.size());
  CHECK(a.validation.size() == b.validation.size());
  // 15 train ratings per user: ⌊1.5 + 0.5⌋ or so held out, about a tenth.
  CHECK(std::abs(double(a.validation.size()) / data.train_part.size() - 0.1) < 0.05);
  CHECK(a.validation.users == a2.validation.users);
  CHECK(a.validation.items == a2.validation.items);
  CHECK(a.train_part.size() == 0);
  // Another part holds out other ratings (items are renumbered per part: compare the counts per user and item sets).
  CHECK((a.validation.items != b.validation.items || a.validation.users != b.validation.users));
}

TEST_CASE("without room in --max-trials for the confirmation the search's choice is stored") {
  const TuneData data = small_data();
  SearchOptions o;
  o.threads = 2;
  o.max_trials = 30;
  auto r = search(data, o);
  CHECK_FALSE(r.confirmation.decided);
  CHECK(r.confirmation.not_decided == "--max-trials");
  CHECK(r.confirmation.candidates.empty());
  CHECK(&r.result() == &r.trials[r.chosen]);
}

TEST_CASE("Ctrl-C in the confirmation keeps the search's choice") {
  const TuneData data = small_data();
  std::atomic<bool> stop{false};
  SearchOptions o;
  o.threads = 2;
  o.stop = &stop;
  o.on_trial = [&](const TrialResult& t) {
    if (t.stage.rfind("confirm", 0) == 0) stop = true;
  };
  auto r = search(data, o);
  CHECK(r.interrupted);
  CHECK_FALSE(r.confirmation.decided);
  CHECK(r.confirmation.not_decided == "interrupted");
  CHECK(&r.result() == &r.trials[r.chosen]);
}

TEST_CASE("the confirmation is not run on a chrono split, whose parts would all be the same") {
  data::RatingTable all = small_data().train_part;
  // Timestamps make the chrono split meaningful; the kind is what matters.
  all.timestamps.resize(all.size());
  for (std::size_t j = 0; j < all.size(); ++j) all.timestamps[j] = static_cast<std::int64_t>(j);
  const TuneData data = carve_validation(all, data::SplitKind::Chrono, 0.25, 42);
  SearchOptions o;
  o.threads = 2;
  auto r = search(data, o);
  CHECK_FALSE(r.confirmation.decided);
  CHECK(r.confirmation.not_decided.find("chrono") != std::string::npos);
  CHECK(r.confirmation.trials == 0);
}

TEST_CASE("the confirmation chooses the highest mean over its parts, the defaults among the candidates") {
  const TuneData data = small_data();
  SearchOptions o;
  o.threads = 2;
  o.budget_seconds = 600;
  o.prefer_simpler = false;
  auto r = search(data, o);
  const auto& c = r.confirmation;
  REQUIRE(c.decided);
  CHECK(c.parts == 4);
  REQUIRE(c.candidates.size() == c.part_metrics.size());
  bool defaults = false;
  for (std::size_t j = 0; j < c.candidates.size(); ++j) {
    REQUIRE(c.part_metrics[j].size() == 4);
    double sum = 0;
    for (double m : c.part_metrics[j]) sum += m;
    CHECK(c.candidates[j].metric == Approx(sum / 4));
    defaults = defaults || c.candidates[j].settings == default_ials();
  }
  CHECK(defaults);
  CHECK(c.candidates[0].settings == r.trials[r.chosen].settings);  // the search's choice first: it wins ties
  for (const auto& t : c.candidates) CHECK(t.per_user.empty());
  CHECK(&r.result() == &c.candidates[c.chosen]);
}
