// recsys generate: a synthetic ratings or play-count CSV (PRODUCT.md §6).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "cli/options.hpp"
#include "data/generate.hpp"
#include "util/error.hpp"
#include "util/fault_guard.hpp"
#include "util/file.hpp"
#include "util/parallel.hpp"

namespace recsys::cli {

namespace {

struct GenerateCommand {
  data::GenerateOptions options;
  std::string values = "stars";
  std::string output;
};

void run_generate(const GlobalOptions& global, GenerateCommand cmd) {
  cmd.options.threads = resolve_threads(global.threads);
  cmd.options.values = cmd.values == "counts" ? data::GeneratedValues::Counts : data::GeneratedValues::Stars;
  data::check_generate_options(cmd.options);
  // Nothing of a database to undo: the default interrupt line would say there is.
  static const char stopped[] = "\nrecsys: interrupted: generate stopped\n";
  interrupt_line.store(stopped);
  if (cmd.output.empty() || cmd.output == "-") {
    data::generate_ratings(cmd.options, [](std::string_view block) {
      if (std::fwrite(block.data(), 1, block.size(), stdout) != block.size())
        throw std::runtime_error("cannot write standard output: " + std::string(std::strerror(errno)));
    });
    if (std::fflush(stdout) != 0)
      throw std::runtime_error("cannot write standard output: " + std::string(std::strerror(errno)));
    return;
  }
  // A file is written beside its target and renamed when whole; a device or a
  // pipe in place, and a symbolic link's target, not the link (util/file.hpp).
  // Ctrl-C or SIGTERM midway removes the partial file (OUT.tmp), as a
  // stopped backup removes its partial copy; the signal's exit status stays.
  util::FaultGuard guard("recsys: error: generate stopped by a fault; its partial file was removed\n",
                         "\nrecsys: interrupted: generate stopped; its partial file was removed\n");
  // Armed before the file exists (a signal is handled after the open returns).
  if (const std::string partial = util::output_temporary(cmd.output); !partial.empty()) {
    guard.removes(partial, {});
    guard.arm_file();
  }
  util::OutputFile out(cmd.output);
  data::generate_ratings(cmd.options, [&](std::string_view block) { out.write(block); });
  out.commit();
  guard.arm_file(false);
}

}  // namespace

void setup_generate(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto cmd = std::make_shared<GenerateCommand>();
  auto* sub = app.add_subcommand("generate",
                                 "Write synthetic ratings or play counts (power-law popularity, latent tastes) as CSV");
  // Zero and the limits are checked with a clear message (data::check_generate_options).
  sub->add_option("--users", cmd->options.users, "Number of users")->required();
  sub->add_option("--items", cmd->options.items, "Number of items")->required();
  sub->add_option("--ratings", cmd->options.ratings, "Number of ratings (rows)")->required();
  sub->add_option("--seed", cmd->options.seed, "Random seed (same seed: same file)")->capture_default_str();
  sub->add_option("--values", cmd->values,
                  "Third column: stars (1-5 ratings) or counts (play counts, heavy-tailed, same pairs as stars)")
      ->check(CLI::IsMember({"stars", "counts"}))
      ->capture_default_str();
  sub->add_option("-o,--output", cmd->output, "Output file (default: standard output)");
  sub->callback([&global, &run, cmd] { run = [&global, cmd] { run_generate(global, *cmd); }; });
}

}  // namespace recsys::cli
