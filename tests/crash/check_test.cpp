// recsys check on a sound database and on databases damaged on purpose: each
// damage is written through LMDB (the store API and raw tables) into a copy of
// a database the real binary built, and `recsys check` must name it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "pipeline.hpp"
#include "store/cache.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"
#include "test_db.hpp"

using namespace recsys;
using namespace recsys::test;

namespace {

// One sound database per test program, copied for each damage.
struct Sound {
  TempDir dir;
  std::string db = build_pipeline_db(dir, "sound.db");
};
const Sound& sound() {
  static Sound s;
  return s;
}

// A copy of the sound database at DIR/db, open for writing.
store::Database copy_sound(const TempDir& dir) {
  std::filesystem::create_directories(dir / "db");
  std::filesystem::copy_file(std::filesystem::path(sound().db) / "data.mdb", dir / "db" / "data.mdb");
  return open_test_db(dir, store::OpenMode::ReadWrite);
}

RunResult check(const TempDir& dir) { return run_recsys({"--db", (dir / "db").string(), "check"}, dir); }

// Runs check on the damaged copy: exit 1, the finding listed on stdout.
void require_finding(const TempDir& dir, const std::string& finding) {
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Catch::Contains(finding));
  REQUIRE_THAT(r.err, Catch::Contains("check: "));
}

}  // namespace

TEST_CASE("check passes a database built by import, train and precompute") {
  TempDir dir;
  auto r = run_recsys({"--db", sound().db, "check"}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Catch::StartsWith("ok: 13 tables"));
  REQUIRE_THAT(r.out, Catch::Contains("300 users"));
  REQUIRE_THAT(r.out, Catch::Contains("serving generation 1"));
  { copy_sound(dir); }
  REQUIRE(check(dir).status == 0);  // the copy the other tests damage is sound too
}

TEST_CASE("check finds an id map entry without its reverse entry") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) { db.tables().user_ids.put(txn, "ghost", std::string_view("\x9f\x86\x01\x00", 4)); });
  }
  require_finding(dir, "user_ids 'ghost': index 99999 has no entry in user_keys");
}

TEST_CASE("check finds an index whose id maps elsewhere") {
  TempDir dir;
  std::string original;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      auto index = std::uint32_t{3};
      original = std::string(*store::find_id(db, txn, store::IdKind::Item, index));
      db.tables().item_keys.put(txn, store::bytes_of(index), "not-an-item");
    });
  }
  require_finding(dir, "item_keys 3: id 'not-an-item' is not in item_ids");
  require_finding(dir, "item_ids '" + original + "': index 3 maps back to 'not-an-item'");
}

TEST_CASE("check finds a cached list naming an unknown item") {
  TempDir dir;
  std::string user;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      user = std::string(*store::find_id(db, txn, store::IdKind::User, 0));
      store::ListBuilder b;
      b.add(store::entry_head("no-such-item"), 0.5f);
      store::put_list(db, txn, store::CacheTable::UserRecs, user, b.finish(store::ListSource::Model, 1));
    });
  }
  require_finding(dir, "user_recs '" + user + "': entry 0 names an unknown item \"no-such-item\"");
}

TEST_CASE("check finds lists of a generation that is not the serving one") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      auto item = std::string(*store::find_id(db, txn, store::IdKind::Item, 1));
      store::ListBuilder b;
      b.add(store::entry_head(item), 0.5f);
      store::put_list(db, txn, store::CacheTable::Popularity, store::kFallbackKey,
                      b.finish(store::ListSource::Fallback, 7));
    });
  }
  require_finding(dir, "popularity 'fallback': list of generation 7 but serving generation is 1");
}

TEST_CASE("check finds a missing factor row") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      const char key[9] = {0, 0, 0, 1, 'i', 0, 0, 0, 5};
      REQUIRE(db.tables().factors.del(txn, std::string_view(key, 9)));
    });
  }
  require_finding(dir, "factors 1/item/6: rows 5..5 are missing");
}

TEST_CASE("check finds a factor row of the wrong length or not finite") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      std::vector<float> nan_row(8, 0.0f);
      nan_row[2] = std::numeric_limits<float>::quiet_NaN();
      store::put_factor_row(db, txn, 1, store::Side::Users, 4, nan_row);
      store::put_factor_row(db, txn, 1, store::Side::Items, 2, std::vector<float>(3, 1.0f));
    });
  }
  require_finding(dir, "factors 1/user/4: value is not finite");
  require_finding(dir, "factors 1/item/2: row of 12 bytes, expected 8 factors");
}

TEST_CASE("check finds a damaged user fingerprint row, which precompute reads as none") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      REQUIRE(store::load_user_fingerprints(db, txn, 1).size() == 300);  // train stored one per user
      store::put_user_fingerprints(db, txn, 1, std::vector<std::uint64_t>(301, 7));
    });
  }
  require_finding(dir, "factors 1/fingerprints: 301 fingerprints for 300 user ids");
  {
    auto db = open_test_db(dir, store::OpenMode::ReadWrite);
    db.write([&](store::Txn& txn) {
      const char key[9] = {0, 0, 0, 1, store::kFingerprintSide, 0, 0, 0, 0};
      db.tables().factors.put(txn, std::string_view(key, 9), "12345");
      REQUIRE(store::load_user_fingerprints(db, txn, 1).empty());
    });
  }
  require_finding(dir, "factors 1/fingerprints: not one row of 8-byte user fingerprints");
  auto pre = run_recsys({"--db", (dir / "db").string(), "precompute"}, dir);
  INFO(pre.err);
  REQUIRE(pre.status == 0);
}

TEST_CASE("check finds a rating count that differs from the stored total") {
  TempDir dir;
  std::uint64_t stored = 0;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      auto stats = store::rating_stats(db, txn);
      stored = stats.count;
      stats.count += 2;
      store::put_rating_stats(db, txn, stats);
    });
  }
  require_finding(dir, "meta 'ratings_stats': records " + std::to_string(stored + 2) + " ratings but " +
                           std::to_string(stored) + " are stored");
}

TEST_CASE("check finds ratings of an unknown item") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      auto records = store::get_user_ratings(db, txn, 0);
      records.push_back({100000, records.front().value, 0});
      store::put_user_ratings(db, txn, 0, records);
    });
  }
  require_finding(dir, "ratings 0: item index 100000 has no id");
}

// train sized its arrays by the id counts and indexed them with the stored
// item indexes unchecked: such a rating wrote past a heap array (a crash far
// past the end, a silent overwrite near it).
TEST_CASE("train and tune stop with a message naming the damage on ratings of an item without an id") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      auto records = store::get_user_ratings(db, txn, 0);
      records.push_back({1u << 30, records.front().value, 0});
      store::put_user_ratings(db, txn, 0, records);
    });
  }
  for (std::vector<std::string> command : {std::vector<std::string>{"train", "--split", "none", "--iterations", "1"},
                                           std::vector<std::string>{"train", "--iterations", "1"},
                                           std::vector<std::string>{"tune", "--max-trials", "1"}}) {
    std::vector<std::string> args{"--db", (dir / "db").string()};
    args.insert(args.end(), command.begin(), command.end());
    auto r = run_recsys(args, dir);
    INFO(command[0] << ": " << r.out << r.err);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("the database is damaged") && Catch::Contains("run recsys check"));
  }
}

TEST_CASE("check reports another schema version and stops there") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) { db.put_meta_u32(txn, "schema_version", 99); });
  }
  auto r = check(dir);
  REQUIRE(r.status == 1);
  REQUIRE(r.out == "meta 'schema_version': is 99 but this recsys reads versions 1 to 2\n");
}

TEST_CASE("check names a directory or file that is not a recsys database") {
  TempDir dir;
  std::filesystem::create_directory(dir / "empty");
  auto r = run_recsys({"--db", (dir / "empty").string(), "check"}, dir);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.err, Catch::Contains("is a directory without a recsys database (data.mdb)"));
  REQUIRE(std::filesystem::is_empty(dir / "empty"));  // nothing was created in it
  auto text = dir.write("notes.txt", std::string(8192, 'x'));
  for (const char* command : {"check", "info"}) {
    r = run_recsys({"--db", text.string(), command}, dir);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("is not an LMDB database"));
    CHECK_FALSE(std::filesystem::exists(text.string() + "-lock"));  // the lock LMDB made for it was left behind
  }
  // Not a file to map: /dev/null said "Bad file descriptor", a FIFO waited for a writer forever.
  std::vector<std::string> odd{"/dev/null"};
  if (::mkfifo((dir / "fifo").c_str(), 0600) == 0) odd.push_back((dir / "fifo").string());
  for (const auto& path : odd) {
    for (const char* command : {"check", "info", "serve"}) {
      r = run_recsys({"--db", path, command}, dir);
      INFO(path << " " << command << ": " << r.err);
      REQUIRE(r.status == 1);
      REQUIRE_THAT(r.err, Catch::Contains("is neither a directory nor a regular file"));
    }
  }
  // A data file of 0 bytes holds no database: serve used to start an empty
  // one in it and serve "model none"; only an import may start it afresh.
  std::filesystem::create_directory(dir / "zero");
  { std::ofstream(dir / "zero" / "data.mdb"); }
  for (const char* command : {"check", "info", "serve", "precompute"}) {
    r = run_recsys({"--db", (dir / "zero").string(), command}, dir);
    INFO(command << ": " << r.err);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("is empty (0 bytes): it holds no database"));
  }
  REQUIRE(std::filesystem::file_size(dir / "zero" / "data.mdb") == 0);
}

TEST_CASE("check reports a truncated data file") {
  TempDir dir;
  { copy_sound(dir); }
  auto file = dir / "db" / "data.mdb";
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Catch::StartsWith("environment: the data file ") && Catch::Contains("bytes but the last commit uses"));
  // Every other command read a page past the end and died of SIGBUS
  // ("Bus error", exit 135; serve at start): one line and exit 1 instead.
  for (std::vector<std::string> command : {std::vector<std::string>{"info"}, {"recommend", "1"}, {"models", "list"},
                                           {"precompute"}, {"backup", (dir / "copy").string()}, {"serve"}}) {
    std::vector<std::string> args{"--db", (dir / "db").string()};
    args.insert(args.end(), command.begin(), command.end());
    if (command[0] == "serve") args.insert(args.end(), {"--port", "0"});
    r = run_recsys(args, dir);
    INFO(command[0] << ": " << r.err);
    REQUIRE(r.status == 1);
    REQUIRE_THAT(r.err, Catch::Contains("a memory-mapped file could not be read") || Catch::Contains("error: "));
  }
}

TEST_CASE("check names B-tree pages that were overwritten") {
  TempDir dir;
  { copy_sound(dir); }
  auto file = dir / "db" / "data.mdb";
  auto size = std::filesystem::file_size(file);
  {
    // Zero every page after the two meta pages: the trees they point to are gone.
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 4096);
    std::string zeros(size - 2 * 4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Catch::StartsWith("main database: walking it failed after 0 entries"));
  REQUIRE_THAT(r.out, Catch::Contains("MDB_CORRUPTED"));
}

// A walk that fails (MDB_CORRUPTED) leaves LMDB's read transaction in its
// error state: the tables after it were reported as "cannot be opened:
// MDB_BAD_TXN" and the schema lookup threw, so check printed one raw LMDB error
// instead of its findings.
TEST_CASE("check goes on past a table whose pages were overwritten and reports the others") {
  TempDir dir;
  std::uint64_t root = 0;
  {
    auto db = copy_sound(dir);
    auto txn = db.begin_read();
    // The table's record in the main database is LMDB's MDB_db: its root page last.
    MDB_val key{std::strlen("item_ids"), const_cast<char*>("item_ids")}, val{};
    REQUIRE(mdb_get(txn.handle(), 1, &key, &val) == MDB_SUCCESS);
    REQUIRE(val.mv_size == 48);
    std::memcpy(&root, static_cast<const char*>(val.mv_data) + 40, sizeof root);
  }
  REQUIRE(root >= 2);
  {
    std::fstream f(dir / "db" / "data.mdb", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(root * 4096));
    const std::string zeros(4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Catch::Contains("item_ids: walking it failed"));
  REQUIRE_THAT(r.out + r.err, !Catch::Contains("MDB_BAD_TXN"));
  REQUIRE_THAT(r.out, !Catch::Contains("cannot be opened"));
  REQUIRE_THAT(r.err, Catch::Contains("check: "));
}

// The compacting copy walks each tree and copies its record as it finds it:
// a damaged record (here the user_ids table's entry count) went into the copy,
// and backup said "written" over a copy that fails check.
TEST_CASE("a compacting backup of a damaged database stops without publishing a copy that fails check") {
  TempDir dir;
  std::string record;
  {
    auto db = copy_sound(dir);
    auto txn = db.begin_read();
    MDB_val key{std::strlen("user_ids"), const_cast<char*>("user_ids")}, val{};
    REQUIRE(mdb_get(txn.handle(), 1, &key, &val) == MDB_SUCCESS);
    REQUIRE(val.mv_size == 48);
    record.assign(static_cast<const char*>(val.mv_data), val.mv_size);
  }
  {
    // MDB_db: pad, flags, depth, branch, leaf and overflow pages, then md_entries at 32.
    std::string damaged = record;
    std::uint64_t entries = 0;
    std::memcpy(&entries, damaged.data() + 32, sizeof entries);
    entries += 7;
    std::memcpy(damaged.data() + 32, &entries, sizeof entries);
    const auto file = dir / "db" / "data.mdb";
    std::string bytes;
    {
      std::ifstream in(file, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    int patched = 0;
    for (auto at = bytes.find(record); at != std::string::npos; at = bytes.find(record, at + 1)) {
      bytes.replace(at, damaged.size(), damaged);
      ++patched;
    }
    REQUIRE(patched >= 1);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto source = check(dir);
  INFO(source.out);
  REQUIRE(source.status == 1);  // the source's damage is found
  REQUIRE_THAT(source.out, Catch::Contains("user_ids: a cursor walk finds"));

  auto r = run_recsys({"--db", (dir / "db").string(), "backup", (dir / "copy").string()}, dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.err, Catch::Contains("the compacted copy does not pass recsys check") &&
                          Catch::Contains("user_ids: a cursor walk finds") && Catch::Contains("--no-compact"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "copy" / "data.mdb"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "copy" / "data.mdb.partial"));
  REQUIRE_FALSE(std::filesystem::exists(dir / "copy" / "data.mdb.partial-lock"));
  // Page by page, the damage included, as documented.
  auto raw = run_recsys({"--db", (dir / "db").string(), "backup", "--no-compact", (dir / "raw").string()}, dir);
  INFO(raw.err);
  REQUIRE(raw.status == 0);
}

// LMDB trusts its pages: random bytes over a few of them made check end with
// SIGABRT (one of LMDB's assertions) and the compacting backup with SIGSEGV,
// leaving DEST/data.mdb.partial. Both must end with a line and exit 1; a
// backup that stops leaves nothing behind.
TEST_CASE("check and backup end with a message, never a signal, on pages of random bytes") {
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state >> 33);
  };
  int guarded = 0;
  for (int round = 0; round < 12; ++round) {
    TempDir dir;
    { copy_sound(dir); }
    auto file = dir / "db" / "data.mdb";
    const auto pages = std::filesystem::file_size(file) / 4096;
    {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      for (int k = 0; k < 3; ++k) {
        f.seekp(static_cast<std::streamoff>((2 + next() % (pages - 2)) * 4096));
        std::string junk(4096, '\0');
        for (auto& c : junk) c = static_cast<char>(next());
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
      }
    }
    auto checked = check(dir);
    INFO("round " << round << " check: " << checked.out << checked.err);
    CHECK((checked.status == 0 || checked.status == 1));
    if (checked.err.find("LMDB stopped at a damaged page") != std::string::npos) ++guarded;
    for (const char* mode : {"--compact", "--no-compact"}) {
      auto dest = dir / (std::string("copy") + mode);
      std::vector<std::string> args{"--db", (dir / "db").string(), "backup", dest.string()};
      if (std::string(mode) == "--no-compact") args.push_back(mode);
      auto r = run_recsys(args, dir);
      INFO(mode << ": " << r.err);
      CHECK((r.status == 0 || r.status == 1));
      if (r.status != 0) {
        CHECK(!std::filesystem::exists(dest));  // neither the partial copy nor the directory it made
        if (r.err.find("backup stopped") != std::string::npos) ++guarded;
      }
    }
  }
  CHECK(guarded > 0);  // the faults these damages cause are met, not only LMDB's error codes
}

TEST_CASE("check finds item metadata that is not a JSON object") {
  TempDir dir;
  std::string item;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      item = std::string(*store::find_id(db, txn, store::IdKind::Item, 2));
      std::vector<store::ItemMeta> meta{{item, R"j({"title":"Two"})j"}};
      store::replace_item_metadata(db, txn, meta, std::vector<std::string>{"title"});
      store::refresh_cached_lists(db, txn);
      db.tables().item_meta.put(txn, item, "{\"title\":\"T\xE9\"}");  // Latin-1 byte: not UTF-8
      db.tables().item_meta.put(txn, "zz-later", "[1,2]");
    });
  }
  require_finding(dir, "item_meta '" + item + "': value is not a UTF-8 JSON object");
  require_finding(dir, "item_meta 'zz-later': value is not a UTF-8 JSON object");
}

TEST_CASE("check finds candidates of another generation, unknown owners and items past the id maps") {
  TempDir dir;
  std::string user, item;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      REQUIRE(store::cache_depth(db, txn));  // precompute stored candidates
      user = std::string(*store::find_id(db, txn, store::IdKind::User, 0));
      item = std::string(*store::find_id(db, txn, store::IdKind::Item, 1));
      std::vector<store::RankedItem> bad{{3, 0.5f}, {99999, 0.25f}};
      store::put_candidates(db, txn, store::CandidateKind::User, user,
                            store::encode_candidates(store::ListSource::Model, 1, bad));
      std::vector<store::RankedItem> other{{2, 0.5f}};
      store::put_candidates(db, txn, store::CandidateKind::Similar, item,
                            store::encode_candidates(store::ListSource::Model, 9, other));
      store::put_candidates(db, txn, store::CandidateKind::User, "ghost",
                            store::encode_candidates(store::ListSource::Model, 1, other));
      store::put_candidates(db, txn, store::CandidateKind::Similar, "x", "short");
    });
  }
  require_finding(dir, "candidates 'u" + user + "': candidate 1 is item index 99999, past the 200 items");
  require_finding(dir, "candidates 's" + item + "': candidates of generation 9 but serving generation is 1");
  require_finding(dir, "candidates 'ughost': candidates of an unknown user");
  require_finding(dir, "candidates 'sx': candidate list is truncated");
}

TEST_CASE("check accepts a user's own fallback list, as events write for a user the model cannot score") {
  TempDir dir;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      // A user whose items are all newer than the model gets the popular items
      // without the ones they rated, stored under their id (source fallback).
      auto user = std::string(*store::find_id(db, txn, store::IdKind::User, 0));
      auto item = std::string(*store::find_id(db, txn, store::IdKind::Item, 1));
      store::ListBuilder b;
      b.add(store::entry_head(item), 12.0f);
      store::put_list(db, txn, store::CacheTable::UserRecs, user, b.finish(store::ListSource::Fallback, 1));
    });
  }
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
}

TEST_CASE("check names a missing serving model first and its orphaned factor rows once") {
  TempDir dir;
  std::size_t rows = 0;
  {
    auto db = copy_sound(dir);
    db.write([&](store::Txn& txn) {
      rows = db.tables().factors.size(txn);  // all of generation 1, the only one
      REQUIRE(db.tables().models.del(txn, store::bytes_of(std::uint32_t{1})));
    });
  }
  REQUIRE(rows == 501);  // 300 users + 200 items + the users' fingerprints (store/models.hpp)
  auto r = check(dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 1);
  // A row per finding used to bury the cause past the 1000 printed lines.
  const std::string cause = "meta 'serving_model': generation 1 is not stored\n";
  const std::string rows_finding = "factors 1: 501 row(s) of a generation without a model description\n";
  REQUIRE_THAT(r.out, Catch::Contains(cause));
  REQUIRE_THAT(r.out, Catch::Contains(rows_finding));
  REQUIRE(r.out.find(cause) < r.out.find(rows_finding));
  REQUIRE_THAT(r.out, !Catch::Contains("factors 1/user/0"));
}
