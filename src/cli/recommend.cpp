// recsys recommend USER / recsys recommend --all --json: the cached top-k of a
// user (or the popularity fallback), read exactly as the server reads it.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/list_output.hpp"
#include "cli/options.hpp"
#include "store/ids.hpp"
#include "util/error.hpp"

namespace recsys::cli {

namespace {

struct RecommendOptions {
  std::string user;
  std::size_t k = 10;
  bool json = false;
  bool all = false;
};

void run_recommend(const GlobalOptions& global, const RecommendOptions& options) {
  if (options.all == !options.user.empty()) throw UsageError("give either a USER or --all");
  if (options.all && !options.json) throw UsageError("--all prints JSON lines: add --json");
  if (options.k == 0) throw UsageError("k must be a positive integer");  // as GET ...?k=0 answers
  auto db = open_database(global, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  if (!options.all) {
    auto list = store::user_list(db, txn, options.user);
    if (!list) throw std::runtime_error("no precomputed lists: run recsys precompute first");
    print_list("user", options.user, *list, options.k, options.json);
    return;
  }
  // One JSON line per known user, in index order.
  std::string line;
  std::uint32_t users = store::id_count(db, txn, store::IdKind::User);
  for (std::uint32_t u = 0; u < users; ++u) {
    auto id = store::find_id(db, txn, store::IdKind::User, u);
    if (!id) continue;
    auto list = store::user_list(db, txn, *id);
    if (!list) throw std::runtime_error("no precomputed lists: run recsys precompute first");
    line.clear();
    store::append_body(line, "user", *id, *list, options.k);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
}

}  // namespace

void setup_recommend(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<RecommendOptions>();
  auto* sub = app.add_subcommand("recommend", "Print a user's precomputed recommendations (fallback for unknown users)");
  sub->add_option("user", options->user, "External user id");
  sub->add_option("--k", options->k, "Number of items (up to the precomputed k)")->capture_default_str();
  sub->add_flag("--json", options->json, "Print the JSON body the server sends");
  sub->add_flag("--all", options->all, "Every known user, one JSON line each (with --json)");
  sub->callback([&global, &run, options] { run = [&global, options] { run_recommend(global, *options); }; });
}

}  // namespace recsys::cli
