// recsys info: what the database holds.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/options.hpp"

namespace recsys::cli {

namespace {

struct InfoOptions {
  bool json = false;
};

void run_info(const GlobalOptions& global, const InfoOptions& options) {
  auto db = open_database(global, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  const auto& t = db.tables();
  std::size_t users = t.user_ids.size(txn);
  std::size_t items = t.item_ids.size(txn);
  std::size_t rated_users = t.ratings.size(txn);
  auto schema = db.meta_u32(txn, "schema_version").value_or(0);
  std::size_t map_size = db.env().map_size();
  std::uintmax_t file_size = db.file_size();
  if (options.json) {
    std::printf("%s\n", fmt::format(R"({{"database":"{}","schema_version":{},"users":{},"items":{},)"
                                    R"("users_with_ratings":{},"file_bytes":{},"map_bytes":{}}})",
                                    db.path().string(), schema, users, items, rated_users, file_size, map_size)
                            .c_str());
    return;
  }
  std::printf("%s", fmt::format("database        {}\n"
                                "schema version  {}\n"
                                "users           {}\n"
                                "items           {}\n"
                                "file size       {:.1f} MiB (map {:.1f} MiB)\n",
                                db.path().string(), schema, users, items, file_size / 1048576.0,
                                map_size / 1048576.0)
                        .c_str());
}

}  // namespace

void setup_info(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<InfoOptions>();
  auto* sub = app.add_subcommand("info", "Print what the database holds: counts, sizes, models, caches");
  sub->add_flag("--json", options->json, "Print as JSON");
  sub->callback([&global, &run, options] { run = [&global, options] { run_info(global, *options); }; });
}

}  // namespace recsys::cli
