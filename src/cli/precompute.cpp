// recsys precompute: the serving cache (top-k per user, similar items,
// popularity fallback) for a model generation, switched in one commit.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/options.hpp"
#include "rank/precompute.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"

namespace recsys::cli {

namespace {

struct PrecomputeCliOptions {
  std::size_t k = 10;
  std::size_t depth = 100;
  std::uint32_t generation = 0;  // 0: latest
  bool json = false;
};

void run_precompute(const GlobalOptions& global, const PrecomputeCliOptions& options) {
  if (options.k == 0 || options.k > 1000) throw UsageError("--k must be between 1 and 1000");
  auto db = open_database(global, store::OpenMode::ReadWrite);
  rank::PrecomputeOptions p;
  p.k = options.k;
  if (options.depth > 100000) throw UsageError("--depth must be at most 100000");
  p.depth = options.depth;
  if (options.generation != 0) p.generation = options.generation;
  p.threads = resolve_threads(global.threads);
  auto r = rank::precompute(db, p);
  log::info("precompute: ranked {} users x {} items x {} {} in {:.3f} s ({:.1f} GFLOP/s), "
            "similar items in {:.3f} s ({:.1f} GFLOP/s), encoded in {:.3f} s, committed in {:.3f} s",
            r.user_lists, r.items, r.factors, r.ease ? "EASE weights" : "factors", r.rank_seconds, r.rank_gflops, r.similar_seconds, r.similar_gflops,
            r.encode_seconds, r.write_seconds);
  if (options.json) {
    std::printf("%s\n",
                fmt::format(R"({{"generation":{},"k":{},"users":{},"user_lists":{},"items":{},"similar_lists":{},)"
                            R"("factors":{},"load_seconds":{:.6f},"rank_seconds":{:.6f},"rank_gflops":{:.3f},)"
                            R"("similar_seconds":{:.6f},"similar_gflops":{:.3f},"encode_seconds":{:.6f},)"
                            R"("write_seconds":{:.6f},"cache_bytes":{},"depth":{},"candidate_bytes":{},"changed_users":{}}})",
                            r.generation, options.k, r.users, r.user_lists, r.items, r.similar_lists, r.factors,
                            r.load_seconds, r.rank_seconds, r.rank_gflops, r.similar_seconds, r.similar_gflops,
                            r.encode_seconds, r.write_seconds, r.cache_bytes, r.depth, r.candidate_bytes, r.changed_users)
                    .c_str());
    return;
  }
  std::printf("%s", fmt::format("serving generation {}: {} user lists ({} users), {} similar-item lists, k = {}, "
                                "{:.1f} MiB; {} candidates each for filters, {:.1f} MiB\n",
                                r.generation, r.user_lists, r.users, r.similar_lists, options.k,
                                static_cast<double>(r.cache_bytes) / 1048576.0, r.depth,
                                static_cast<double>(r.candidate_bytes) / 1048576.0)
                        .c_str());
}

}  // namespace

void setup_precompute(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<PrecomputeCliOptions>();
  auto* sub = app.add_subcommand("precompute",
                                 "Compute top-k lists for every user, similar items and the popularity fallback, "
                                 "and switch serving to them in one commit");
  sub->add_option("--k", options->k, "Items per list (the most a request can ask for)")->capture_default_str();
  sub->add_option("--depth", options->depth,
                  "Candidates kept per user and item for filtered requests (?genre=...), at least k")
      ->capture_default_str();
  sub->add_option("--model", options->generation, "Model generation (default: the latest)")->check(kPositive);
  sub->add_flag("--json", options->json, "Print the figures as JSON");
  sub->callback([&global, &run, options] { run = [&global, options] { run_precompute(global, *options); }; });
}

}  // namespace recsys::cli
