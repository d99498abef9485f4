// Settings: global options anywhere on the line, --config files checked like
// the command line, precedence command line > env > file > default, and
// `recsys config --print`. Runs the real binary.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "scoped_env.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

using namespace recsys::test;
using Catch::Contains;

namespace {

const std::string kRatings = "user,item,rating\nu1,i1,5\nu1,i2,3\nu2,i1,4\nu2,i3,2\nu3,i2,1\n";

}  // namespace

TEST_CASE("global options also work after the subcommand") {
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  auto db = (dir / "after.db").string();
  auto imported = run_recsys({"import", "--db", db, csv.string()}, dir);
  INFO(imported.err);
  REQUIRE(imported.status == 0);
  auto trained = run_recsys({"train", "--db", db, "--threads", "1", "--log-level", "warn", "--factors", "2",
                             "--iterations", "1", "--split", "none"},
                            dir);
  INFO(trained.err);
  REQUIRE(trained.status == 0);
  REQUIRE(trained.err.find("training") == std::string::npos);  // --log-level warn was applied
  auto info = run_recsys({"info", "--json", "--db", db}, dir);
  REQUIRE(info.status == 0);
  REQUIRE_THAT(info.out, Contains("\"users\":3"));
}

TEST_CASE("no flag shows a {false} or {true} default in --help") {
  TempDir dir;
  for (const std::string cmd : {"import", "train", "evaluate", "precompute", "recommend", "similar", "serve", "info",
                                "generate", "backup", "config"}) {
    INFO(cmd);
    auto r = run_recsys({cmd, "--help"}, dir);
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.out, !Contains("{false}") && !Contains("{true}"));
  }
}

TEST_CASE("unknown, repeated and nested keys in a config file are refused with their name, like unknown options") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kRatings);
  struct Case {
    std::string text, expected;
  };
  // With the line of the key (the example file promises it), and a nested
  // section by its whole name (was "[x]" for [serve.x]).
  for (const auto& c : std::vector<Case>{{"factorz = 8\n", "bad.toml:1: unknown setting 'factorz'"},
                                         {"[train]\n\nfactorz = 8\n", "bad.toml:3: unknown setting 'factorz' in [train]"},
                                         {"[trian]\nfactors = 8\n", "unknown section [trian]"},
                                         {"db = \"x\"\n[serve.x]\nport = 1\n", "bad.toml:2: unknown section [serve.x]"},
                                         {"db = \"a\"\ndb = \"b\"\n", "'db' is set twice"},
                                         {"[train]\nfactors = 8\nfactors = 9\n", "'factors' in [train] is set twice"},
                                         {"[train]\nfactors = 8\n[import]\nquiet = true\n[train]\niterations = 1\n",
                                          "section [train] appears twice"},
                                         {"[ train ]\nfactors = 8\n[train]\niterations = 1\n", "section [train] appears twice"},
                                         {"config = \"other.toml\"\n", "'config' cannot name another config file"}}) {
    INFO(c.text);
    auto file = dir.write("bad.toml", c.text);
    auto r = run_recsys({"--config", file.string(), "--db", db, "train", csv.string()}, dir);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.err, Contains(c.expected) && Contains("bad.toml"));
    REQUIRE_FALSE(std::filesystem::exists(db));
  }
  // Known keys, global and per subcommand, are accepted; the same key in two sections is two settings.
  auto good = dir.write("good.toml", "log-level = \"warn\"\n[train]\nfactors = 2\niterations = 1\nsplit = \"none\"\n"
                                     "seed = 1\n[tune]\nseed = 2\n");
  auto r = run_recsys({"--config", good.string(), "--db", db, "train", csv.string()}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains("2 factors"));
}

TEST_CASE("the database is chosen by command line, then RECSYS_DB, then the config file, then the default") {
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  auto file_db = (dir / "file.db").string(), env_db = (dir / "env.db").string(), cli_db = (dir / "cli.db").string();
  auto config = dir.write("recsys.toml", "db = \"" + file_db + "\"\n");
  const std::string c = config.string();
  REQUIRE(run_recsys({"--config", c, "import", csv.string()}, dir).status == 0);
  REQUIRE(std::filesystem::exists(file_db));
  {
    ScopedEnv env("RECSYS_DB", env_db);
    REQUIRE(run_recsys({"--config", c, "import", csv.string()}, dir).status == 0);
    REQUIRE(std::filesystem::exists(env_db));
    REQUIRE(run_recsys({"--config", c, "--db", cli_db, "import", csv.string()}, dir).status == 0);
    REQUIRE(std::filesystem::exists(cli_db));

    auto printed = run_recsys({"--config", c, "config", "--print"}, dir);
    REQUIRE(printed.status == 0);
    REQUIRE_THAT(printed.out, Contains("db = \"" + env_db + "\"") && Contains("# env RECSYS_DB"));
    auto cli = run_recsys({"--config", c, "config", "--print", "--db", cli_db}, dir);
    REQUIRE_THAT(cli.out, Contains("db = \"" + cli_db + "\"") && Contains("# command line"));
  }
  auto printed = run_recsys({"--config", c, "config", "--print"}, dir);
  REQUIRE_THAT(printed.out, Contains("db = \"" + file_db + "\"") && Contains("# file " + c));
  auto plain = run_recsys({"config", "--print"}, dir);
  REQUIRE_THAT(plain.out, Contains("db = \"recsys.db\"") && Contains("# default"));
}

TEST_CASE("a value from a config file that the option refuses is reported with the file's name") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kRatings);
  // CLI11's "Could not convert: --port = 99999" named no file and read oddly.
  for (const auto& text : {std::string("threads = \"abc\"\n"), std::string("[train]\nfactors = -3\n"),
                           std::string("[train]\nfactors = [3, 4]\n"), std::string("[train]\nno-loss = \"yes please\"\n")}) {
    INFO(text);
    auto file = dir.write("typed.toml", text);
    auto r = run_recsys({"--config", file.string(), "--db", db, "train", csv.string()}, dir);
    INFO(r.err);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.err, Contains("(set in the config file " + file.string() + ")") && !Contains("Could not convert"));
    REQUIRE_FALSE(std::filesystem::exists(db));
  }
  // The same refusal for a value typed on the command line names no file.
  auto file = dir.write("fine.toml", "[train]\nfactors = 8\n");
  auto r = run_recsys({"--config", file.string(), "--db", db, "train", "--factors", "-3", csv.string()}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("--factors") && !Contains("config file"));
}

TEST_CASE("--append or --replace on the command line wins over the other one in a config file") {
  TempDir dir;
  auto db = (dir / "db").string();
  REQUIRE(run_recsys({"--db", db, "import", dir.write("r.csv", kRatings).string()}, dir).status == 0);
  auto more = dir.write("more.csv", "user,item,rating\nu4,i1,5\n").string();
  auto count = [&] {
    auto info = run_recsys({"--db", db, "info"}, dir);
    REQUIRE(info.status == 0);
    auto at = info.out.find("  ratings ");
    REQUIRE(at != std::string::npos);
    return std::stoi(info.out.substr(at + 10));
  };
  // append = true in the file, --replace given: the stored ratings are replaced.
  auto appending = dir.write("append.toml", "[import]\nappend = true\n").string();
  auto r = run_recsys({"--config", appending, "--db", db, "import", "--replace", more}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains("ratings stored  1 "));
  // replace = true in the file, --append given: added to them.
  auto replacing = dir.write("replace.toml", "[import]\nreplace = true\n").string();
  r = run_recsys({"--config", replacing, "--db", db, "import", "--append", dir.write("r.csv", kRatings).string()}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains("ratings stored  6 "));
  // Both in the file: refused, naming the file; nothing changes.
  auto both = dir.write("both.toml", "[import]\nappend = true\nreplace = true\n").string();
  r = run_recsys({"--config", both, "--db", db, "import", more}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("--append") && Contains("--replace") && Contains("config file " + both));
  // Both on the command line: refused as before.
  r = run_recsys({"--db", db, "import", "--append", "--replace", more}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("--append") && Contains("--replace"));
  REQUIRE(count() == 6);
}

TEST_CASE("config --print shows global and subcommand settings with their sources, as TOML") {
  TempDir dir;
  auto config = dir.write("recsys.toml", "log-level = \"warn\"\n[serve]\nport = 9090\n");
  ScopedEnv env("RECSYS_TOKEN_FILE", (dir / "token").string());
  auto r = run_recsys({"--config", config.string(), "config", "--print", "--threads", "3"}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE_THAT(r.out, Contains("threads = 3") && Contains("log-level = \"warn\""));
  REQUIRE_THAT(r.out, Contains("[serve]") && Contains("port = 9090") &&
                          Contains("token-file = \"" + (dir / "token").string() + "\""));
  REQUIRE_THAT(r.out, Contains("# env RECSYS_TOKEN_FILE") && Contains("# file " + config.string()));
  // The printed settings are a config file recsys reads back.
  dir.write("printed.toml", r.out);
  REQUIRE(run_recsys({"--config", (dir / "printed.toml").string(), "config", "--print"}, dir).status == 0);
}

TEST_CASE("config --print with every setting at its default is a config file recsys reads back") {
  TempDir dir;
  auto db = (dir / "x.db").string();
  REQUIRE(run_recsys({"--db", db, "import", dir.write("r.csv", kRatings).string()}, dir).status == 0);
  auto printed = run_recsys({"config", "--print"}, dir);
  REQUIRE(printed.status == 0);
  REQUIRE_THAT(printed.out, Contains("threads = 0") && !Contains("\"\""));
  auto file = dir.write("p.toml", printed.out).string();
  auto info = run_recsys({"--config", file, "--db", db, "info", "--json"}, dir);
  INFO(info.err);
  REQUIRE(info.status == 0);
  REQUIRE_THAT(info.out, Contains("\"users\":3"));
  auto again = run_recsys({"--config", file, "config", "--print"}, dir);
  INFO(again.err);
  REQUIRE(again.status == 0);
}

TEST_CASE("a config file's quoted values keep '#' and backslashes, and a byte order mark is skipped") {
  // CLI11 2.1 cut `db = "x#1.db"` at the '#' (a directory named `"x` was
  // created), kept TOML's \\ escapes doubled, and read a BOM into the first key.
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  const std::string hash_db = (dir / "x#1.db").string();
  auto config = dir.write("recsys.toml", "\xEF\xBB\xBF# a comment line\ndb = \"" + hash_db +
                                             "\"  # the database\n[import]\nquiet = true # no summary\n");
  // An apostrophe inside an unquoted value is a letter, not a quote: the comment still ends it.
  const std::string apostrophe_db = (dir / "o'brien.db").string();
  auto unquoted = dir.write("unquoted.toml", "db = " + apostrophe_db + "  # a note\n");
  REQUIRE(run_recsys({"--config", unquoted.string(), "import", csv.string()}, dir).status == 0);
  CHECK(std::filesystem::exists(apostrophe_db));
  auto r = run_recsys({"--config", config.string(), "import", csv.string()}, dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(std::filesystem::exists(hash_db));
  CHECK(r.out.empty());  // quiet = true was read
  // config --print writes a backslash as \\ (TOML); that file reads back as the same path.
  const std::string slash_db = (dir / "back\\slash.db").string();
  auto escaped = dir.write("escaped.toml", "db = \"" + std::string(dir.path().string()) + "/back\\\\slash.db\"\n");
  REQUIRE(run_recsys({"--config", escaped.string(), "import", csv.string()}, dir).status == 0);
  CHECK(std::filesystem::exists(slash_db));
  auto printed = run_recsys({"--config", escaped.string(), "config", "--print"}, dir);
  auto again = dir.write("again.toml", printed.out);
  auto reread = run_recsys({"--config", again.string(), "config", "--print"}, dir);
  CHECK_THAT(reread.out, Contains("back\\\\slash.db"));
  CHECK(reread.out.find("back\\\\\\\\slash") == std::string::npos);
}

TEST_CASE("an unclosed string in a config file and an empty database path are refused, not used as paths") {
  // Before, db = "x (no closing quote) created a database directory named "x,
  // and --db '' or db = "" quietly used ./recsys.db.
  TempDir dir;
  auto csv = dir.write("r.csv", kRatings);
  auto unclosed = dir.write("unclosed.toml", "threads = 1\ndb = \"unterminated\n");
  auto r = run_recsys({"--config", unclosed.string(), "import", csv.string()}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("unclosed.toml:2: a string opened with \" is not closed on its line"));
  auto empty = dir.write("empty.toml", "db = \"\"\n");
  r = run_recsys({"--config", empty.string(), "import", csv.string()}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("the database path is empty"));
  r = run_recsys({"--db", "", "import", csv.string()}, dir);
  REQUIRE(r.status == 2);
  REQUIRE_THAT(r.err, Contains("--db: the database path is empty"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    INFO(entry.path().string());
    CHECK(entry.is_regular_file());  // no database directory was created: only the three files
  }
  // A "file" without end (a device) is refused once past 1 MiB; it grew memory without bound.
  if (std::filesystem::exists("/dev/zero")) {
    r = run_recsys({"--config", "/dev/zero", "info"}, dir);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.err, Contains("/dev/zero: over 1 MiB: not a configuration file"));
  }
}

TEST_CASE("a config file that cannot be read says why, and an empty --config or a repeated option is a usage error") {
  TempDir dir;
  auto db = (dir / "db").string();
  auto csv = dir.write("r.csv", kRatings);
  std::filesystem::create_directory(dir / "conf.d");
  // CLI11 said "was not readable (missing?)" for each, the directory included.
  struct Case {
    std::string file, expected;
  };
  for (const auto& c : std::vector<Case>{{(dir / "conf.d").string(), "a directory, not a configuration file"},
                                         {(dir / "none.toml").string(), "cannot read it: No such file or directory"}}) {
    auto r = run_recsys({"--config", c.file, "--db", db, "train", csv.string()}, dir);
    INFO(r.err);
    REQUIRE(r.status == 2);
    REQUIRE_THAT(r.err, Contains("--config " + c.file + ": " + c.expected) && !Contains("missing?"));
  }
  // `--config ''` (an unset variable in a unit file) read no file and went on
  // without the settings meant.
  auto empty = run_recsys({"--config", "", "--db", db, "train", csv.string()}, dir);
  REQUIRE(empty.status == 2);
  REQUIRE_THAT(empty.err, Contains("--config: an empty file name"));
  // A global option given before and after the command: CLI11's "At Most 1 required but received 2".
  auto twice = run_recsys({"--threads", "1", "--db", db, "info", "--threads", "2"}, dir);
  REQUIRE(twice.status == 2);
  REQUIRE_THAT(twice.err, Contains("--threads: takes one value and was given 2"));
  auto no_command = run_recsys({"--bogus"}, dir);
  REQUIRE(no_command.status == 2);
  REQUIRE_THAT(no_command.err, !Contains("unknown command"));
  auto unknown = run_recsys({"--db", db, "bogus"}, dir);
  REQUIRE(unknown.status == 2);
  REQUIRE_THAT(unknown.err, Contains("unknown command 'bogus'"));
  REQUIRE_FALSE(std::filesystem::exists(db));
}
