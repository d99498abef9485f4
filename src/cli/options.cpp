#include "cli/options.hpp"

namespace recsys::cli {

store::Database open_database(const GlobalOptions& global, store::OpenMode mode) {
  store::OpenOptions options;
  options.path = global.db.empty() ? store::default_db_path() : std::filesystem::path(global.db);
  options.mode = mode;
  options.initial_map_size = global.map_size;
  return store::Database::open(options);
}

}  // namespace recsys::cli
