// recsys: one executable for import, training, precompute and serving.
// main() parses the command line, then runs the chosen subcommand; every error
// becomes one line on stderr and exit code 1 (2 for usage errors).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "cli/config.hpp"
#include "cli/options.hpp"
#include "config.h"
#include "store/database.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace {

// CLI11 2.1 reads integers with strtoll's base 0: "-1" into an unsigned
// option as 2^64 − 1 (so --seed -1 and --max-trials -1 were accepted
// silently), "010" as 8 and "0x4" as 4, and "08" not at all. Every integer
// option, in every subcommand and in config files, takes decimal digits:
// leading zeros are dropped, other bases refused, and unsigned ones refuse a sign.
void decimal_integers(CLI::App& app) {
  // Sizes (512M, 4G) keep their unit: only their number is made decimal.
  auto rule = [](bool is_unsigned, bool is_size) {
    return CLI::Validator(
        [is_unsigned, is_size](std::string& value) {
          const auto first = value.find_first_not_of(" \t");
          if (first == std::string::npos) return std::string();
          if (is_unsigned && value[first] == '-') return std::string("must not be negative (got " + value + ")");
          const std::size_t digits = first + (value[first] == '-' || value[first] == '+' ? 1 : 0);
          std::size_t zeros = digits;
          while (zeros + 1 < value.size() && value[zeros] == '0' && std::isdigit(static_cast<unsigned char>(value[zeros + 1])))
            ++zeros;
          const std::string original = value;
          value.erase(digits, zeros - digits);
          // What follows the digits: nothing but blanks, or a size's unit.
          std::size_t end = digits;
          while (end < value.size() && std::isdigit(static_cast<unsigned char>(value[end]))) ++end;
          const bool hex = end == digits + 1 && value[digits] == '0' && end < value.size() &&
                           (value[end] == 'x' || value[end] == 'X');
          const bool rest_blank = value.find_first_not_of(" \t", end) == std::string::npos;
          if (end == digits || hex || (!is_size && !rest_blank)) {
            return std::string("must be a decimal integer (got " + original + ")");
          }
          // CLI11 reads 64-bit options with strtoull/strtoll and does not see
          // ERANGE: --seed 99999999999999999999999 became 2^64 − 1 silently.
          errno = 0;
          if (is_unsigned) {
            (void)std::strtoull(value.c_str() + first, nullptr, 10);
          } else {
            (void)std::strtoll(value.c_str() + first, nullptr, 10);
          }
          if (errno == ERANGE) return std::string("is out of range (got " + original + ")");
          return std::string();
        },
        "", is_unsigned ? "decimal unsigned" : "decimal");
  };
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    const bool is_size = type.find("SIZE") != std::string::npos;
    if (type.rfind("UINT", 0) == 0) option->transform(rule(true, is_size));
    else if (type.rfind("INT", 0) == 0) option->transform(rule(false, is_size));
  }
  for (CLI::App* sub : app.get_subcommands({})) decimal_integers(*sub);
}

// An error message for the terminal: ids and file names in it come from input
// (recsys similar $'x\e[2J'), so control characters are escaped; line breaks stay.
std::string printable(std::string_view message) {
  std::string out;
  for (std::size_t from = 0;;) {
    auto nl = message.find('\n', from);
    out += recsys::util::terminal_safe(message.substr(from, nl == std::string_view::npos ? nl : nl - from));
    if (nl == std::string_view::npos) return out;
    out += '\n';
    from = nl + 1;
  }
}

// Reading a page of a memory-mapped file past the file's end raises SIGBUS:
// LMDB's map of a data file cut short (a truncated copy; `recsys check` names
// it) or an input file truncated while it is read. On x86-64 nothing else in
// this program raises it. Said in one line instead of "Bus error" and a core.
const char* sigbus_prefix = "";  // log::error_prefix(), set before the handler is installed

void on_sigbus(int) {
  [[maybe_unused]] ssize_t prefixed = ::write(STDERR_FILENO, sigbus_prefix, std::strlen(sigbus_prefix));
  static const char message[] =
      "recsys: error: a memory-mapped file could not be read: a page past its end (a database file cut short, "
      "e.g. a truncated copy, or an input file truncated while it was read) or a disk error; run recsys check on "
      "the database\n";
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, message, sizeof message - 1);
  ::_exit(1);
}

// A crash inside LMDB (SIGSEGV on a damaged page's garbage offsets, SIGABRT
// from one of its assertions) ended a command or the server with a bare
// "Segmentation fault" and no hint. One line says what to run, then the
// signal's default action runs (exit status 139 / 134, a core where enabled).
// Not in sanitizer builds, whose own handlers report these.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
void on_crash(int sig) {
  [[maybe_unused]] ssize_t prefixed = ::write(STDERR_FILENO, sigbus_prefix, std::strlen(sigbus_prefix));
  static const char segv[] = "recsys: fatal: segmentation fault";
  static const char abrt[] = "recsys: fatal: aborted";
  static const char rest[] =
      ": a damaged database (run recsys check on it; restore a backup if it finds damage) or a defect of recsys "
      "(report it with the command that ran)\n";
  [[maybe_unused]] ssize_t head =
      sig == SIGSEGV ? ::write(STDERR_FILENO, segv, sizeof segv - 1) : ::write(STDERR_FILENO, abrt, sizeof abrt - 1);
  [[maybe_unused]] ssize_t tail = ::write(STDERR_FILENO, rest, sizeof rest - 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
#endif

// Ctrl-C, SIGTERM or SIGHUP (a closed terminal or ssh session) in a command
// without its own handling (import, train,
// precompute…) ended it by the default action without a word. LMDB has
// nothing to undo (an unfinished write transaction is simply never
// committed), so the line says that, and the signal is raised again with its
// default action: the exit status stays 130 / 143 / 129 for scripts. serve and tune
// install their own handlers when they start and finish their work instead.
void on_interrupt(int sig) {
  static const char message[] =
      "\nrecsys: interrupted: the work this command had not yet committed is not stored (an unfinished LMDB "
      "transaction is dropped whole); the database stays consistent\n";
  const char* line = recsys::interrupt_line.load();
  [[maybe_unused]] ssize_t written =
      line ? ::write(STDERR_FILENO, line, std::strlen(line)) : ::write(STDERR_FILENO, message, sizeof message - 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void handle_signals() {
  // A file-size limit (ulimit -f, systemd's LimitFSIZE=) kills a process that
  // writes past it with SIGXFSZ, by default with a core and no word: serve
  // died mid-events and backup or generate -o left their partial files.
  // Ignored, the write fails with EFBIG, which every writer reports (the
  // server answers 503 and recovers once the limit is raised).
  ::signal(SIGXFSZ, SIG_IGN);
  struct sigaction action {};
  sigbus_prefix = recsys::log::error_prefix();
  action.sa_handler = on_sigbus;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  action.sa_handler = on_crash;
  ::sigaction(SIGSEGV, &action, nullptr);
  ::sigaction(SIGABRT, &action, nullptr);
#endif
  action.sa_handler = on_interrupt;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction previous {};
    // A signal the caller ignores (nohup, a background job of a script) stays ignored.
    if (::sigaction(sig, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
    ::sigaction(sig, &action, nullptr);
  }
}

// Under an address-space limit (ulimit -v, systemd's LimitAS=) OpenBLAS's
// worker threads, started when the library loads, each take a 128 MiB buffer
// and retry forever at full CPU when mmap refuses it; the process then also
// hangs at exit joining them (even --version did). Run again with OpenBLAS
// single-threaded, unless OPENBLAS_NUM_THREADS says otherwise (or this is
// that second run), and with at most two glibc malloc arenas (each reserves
// 64 MiB of address space); model::BlasLease keeps the products within the
// limit. Not when started through the dynamic loader (ld.so ./recsys …):
// /proc/self/exe is the loader then, which would take argv[1] as the program.
void single_threaded_blas_under_address_limit(char** argv) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  if (std::getenv("OPENBLAS_NUM_THREADS")) return;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  const char* name = std::strrchr(exe, '/');
  name = name ? name + 1 : exe;
  if (std::strncmp(name, "ld-", 3) == 0 || std::strncmp(name, "ld.so", 5) == 0) return;
  if (!std::getenv("MALLOC_ARENA_MAX") && ::setenv("MALLOC_ARENA_MAX", "2", 1) != 0) return;
  if (::setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;  // the second run must see it, or it would exec again
  ::execv(exe, argv);  // returns only on failure: go on as we are
}

}  // namespace

int main(int argc, char** argv) try {
  single_threaded_blas_under_address_limit(argv);
  using namespace recsys;
  CLI::App app{"recsys: a real-time recommendation service in one executable.\n"
               "Import ratings, train ALS, precompute top-k lists and serve them over HTTP from one LMDB file."};
  app.set_version_flag("--version", std::string("recsys ") + RECSYS_VERSION);
  app.set_config("--config", "", "Read options from a TOML or INI file ([section] per subcommand)");
  app.require_subcommand(1);
  // Global options may also follow the subcommand (recsys train --db x.db).
  app.fallthrough();
  cli::ConfigSources sources;
  sources.argv.assign(argv + std::min(argc, 1), argv + argc);
  cli::install_config_reader(app, sources);

  cli::GlobalOptions global;
  global.db = "recsys.db";  // the default; RECSYS_DB through envname (command line > env > file > default)
  app.add_option("--db", global.db, "Database directory or file (env RECSYS_DB)")
      ->envname("RECSYS_DB")  // an empty RECSYS_DB counts as unset (CLI11), an empty --db or db = "" is refused
      ->check(CLI::Validator(
          [](std::string& path) { return path.empty() ? std::string("the database path is empty") : std::string(); },
          "PATH"))
      ->capture_default_str();
  app.add_option("--threads", global.threads, "Worker threads (0: all cores)")
      ->check(cli::kNonNegative)
      ->capture_default_str();  // config --print writes "threads = 0", which reads back
  app.add_option("--map-size", global.map_size,
                 "LMDB map size at open, e.g. 512M or 4G (grows by doubling when full)")
      ->default_str("1G")
      ->transform(CLI::AsSizeValue(false))
      // Smaller, a new database failed to create its tables (MDB_MAP_FULL)
      // and left a data file without them behind.
      ->check(CLI::Validator(
          [](std::string& value) {
            std::uint64_t bytes = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), bytes);
            if (ec != std::errc() || end != value.data() + value.size() || bytes < (std::uint64_t{1} << 20))
              return std::string("must be at least 1M (a new database's tables need that much room)");
            return std::string();
          },
          "SIZE >= 1M"));
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  cli::Runner run;
  cli::setup_import(app, global, run);
  cli::setup_items(app, global, run);
  cli::setup_info(app, global, run);
  cli::setup_train(app, global, run);
  cli::setup_tune(app, global, run);
  cli::setup_evaluate(app, global, run);
  cli::setup_backup(app, global, run);
  cli::setup_import_factors(app, global, run);
  cli::setup_precompute(app, global, run);
  cli::setup_recommend(app, global, run);
  cli::setup_similar(app, global, run);
  cli::setup_serve(app, global, run);
  cli::setup_generate(app, global, run);
  cli::setup_check(app, global, run);
  cli::setup_models(app, global, run);
  cli::setup_config(app, global, run, sources);
  decimal_integers(app);

  try {
    app.parse(argc, argv);
    // CLI11 reads `--config ''` as no file: the settings meant would be
    // silently left out (an unset variable in a unit file), as with --db ''.
    if (const CLI::Option* config = app.get_config_ptr(); config->count() > 0 && config->as<std::string>().empty())
      throw CLI::ValidationError("--config", "an empty file name (leave the option out to read none)");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = cli::parse_error_message(e.what(), sources);
    if (message == "A subcommand is required" && !app.remaining().empty() && app.remaining().front().rfind('-', 0) != 0)
      message = "unknown command '" + app.remaining().front() + "'";
    std::fprintf(stderr, "%srecsys: %s\nRun with --help for usage.\n", log::error_prefix(),
                 printable(message).c_str());
    return 2;
  }
  log::init(global.log_level);
  handle_signals();
  if (!run) {
    std::fprintf(stderr, "%srecsys: no command given\nRun with --help for usage.\n", log::error_prefix());
    return 2;
  }
  run();
  // What a command printed must have arrived (`info > /dev/full`, a closed
  // pipe): exit 0 would tell a script its output is whole.
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throw std::runtime_error("cannot write the output to stdout (a full disk or a closed pipe?)");
  return 0;
} catch (const recsys::UsageError& e) {
  std::fprintf(stderr, "%srecsys: %s\n", recsys::log::error_prefix(), printable(e.what()).c_str());
  return 2;
} catch (const std::bad_alloc&) {
  std::fprintf(stderr,
               "%srecsys: error: out of memory (see the memory notes of the command in docs/; ulimit -v or a "
               "cgroup limit may be lower than the data needs)\n",
               recsys::log::error_prefix());
  return 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%srecsys: error: %s\n", recsys::log::error_prefix(), printable(e.what()).c_str());
  return 1;
}
