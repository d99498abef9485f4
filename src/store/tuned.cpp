#include "store/tuned.hpp"

namespace recsys::store {

std::optional<std::string> tuned_defaults(const Database& db, const Txn& txn) {
  return db.meta_string(txn, kTunedDefaultsKey);
}

void put_tuned_defaults(const Database& db, const Txn& txn, std::string_view json) {
  db.put_meta_string(txn, kTunedDefaultsKey, json);
}

bool erase_tuned_defaults(const Database& db, const Txn& txn) { return db.tables().meta.del(txn, kTunedDefaultsKey); }

}  // namespace recsys::store
