// recsys serve: the HTTP API over the precomputed cache (see docs/serving.md).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "cli/options.hpp"
#include "http/server.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"

namespace recsys::cli {

namespace {

struct ServeOptions {
  http::ServerOptions server;
  int threads = 0;
  std::string token_file;
  unsigned idle_timeout = 60;
  unsigned read_timeout = 10;
  unsigned send_timeout = 30;
  unsigned event_timeout = 10;
  long max_connections_per_ip = -1;  // -1: the default (a quarter of --max-connections)
};

// A token a client can send: no control characters (a NUL or a CR inside
// one was accepted, and then no request could ever match it).
std::string checked_token(std::string token, const std::string& source) {
  for (unsigned char c : token)
    if (c < 0x20 || c == 0x7f)
      throw std::runtime_error(source + " holds a control character (byte " + std::to_string(c) +
                               "): no Authorization header can carry it; write the bearer token in printable characters");
  return token;
}

// The token file's first line, without surrounding white space. A token file
// that was named but cannot be used stops the server: serving writes openly
// because a secret went missing would be worse than not starting.
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) {
    throw std::runtime_error("cannot read the token file '" + path + "' (--token-file or RECSYS_TOKEN_FILE)");
  }
  std::string line;
  std::getline(in, line);
  auto first = line.find_first_not_of(" \t\r\n");
  auto last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw std::runtime_error("the token file '" + path + "' is empty: write the bearer token on its first line");
  }
  return checked_token(line.substr(first, last - first + 1), "the token file '" + path + "'");
}

// A replica the user may only read is served read-only: GETs work, POST
// /v1/events answers 503 (docs/serving.md "Read-only replicas").
store::Database open_for_serving(const GlobalOptions& global) {
  try {
    return open_database(global, store::OpenMode::ReadWrite);
  } catch (const store::PermissionError& e) {
    auto db = open_database(global, store::OpenMode::ReadOnly);
    log::warn("{}; serving read-only: POST /v1/events answers 503", e.what());
    return db;
  }
}

void run_serve(const GlobalOptions& global, ServeOptions options) {
  auto& s = options.server;
  s.threads = resolve_threads(options.threads != 0 ? options.threads : global.threads);
  if (!options.token_file.empty()) {
    s.token = read_token(options.token_file);
  } else if (const char* file = std::getenv("RECSYS_TOKEN_FILE"); file && *file == '\0') {
    // CLI11 reads an empty variable as unset; here that would be open writes
    // because a file name went missing (an unset variable in a unit file).
    throw std::runtime_error(
        "RECSYS_TOKEN_FILE is set but empty: name the token file, or unset it to accept events without a token");
  } else if (const char* env = std::getenv("RECSYS_TOKEN")) {
    // Set but blank is a secret that went missing (an empty variable in a unit
    // file or a failed substitution), not a request for open writes: refused
    // like an empty token file. Unset the variable to serve without a token.
    // Trimmed like the token file's line.
    std::string_view token(env);
    const auto first = token.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
      throw std::runtime_error(
          "RECSYS_TOKEN is set but empty: set it to the bearer token, or unset it to accept events without one");
    }
    s.token = checked_token(std::string(token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1)),
                            "RECSYS_TOKEN");
  }
  if (options.idle_timeout == 0 || options.read_timeout == 0 || options.send_timeout == 0 ||
      options.event_timeout == 0) {
    throw UsageError("time-outs must be at least 1 second");
  }
  s.timeouts.idle = std::chrono::seconds(options.idle_timeout);
  s.timeouts.read = std::chrono::seconds(options.read_timeout);
  s.timeouts.write = std::chrono::seconds(options.send_timeout);
  s.event_timeout = std::chrono::seconds(options.event_timeout);
  if (options.max_connections_per_ip >= 0) s.max_connections_per_ip = options.max_connections_per_ip;
  auto db = open_for_serving(global);
  http::serve(db, s);
}

}  // namespace

void setup_serve(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<ServeOptions>();
  auto* sub = app.add_subcommand("serve", "Serve recommendations over HTTP from the precomputed cache");
  sub->add_option("--address", options->server.address, "IP address to listen on")->capture_default_str();
  sub->add_option("--allow-host", options->server.allowed_hosts,
                  "On a loopback address, a Host name answered besides localhost and loopback IPs (a name a proxy "
                  "on this machine passes on); repeatable")
      ->check(CLI::Validator(
          [](std::string& name) {
            if (name.empty() || name.find_first_of(" \t:/[]") != std::string::npos)
              return std::string("a host name without port, e.g. recs.example.com");
            return std::string();
          },
          "NAME"));
  sub->add_option("--port", options->server.port, "TCP port (0: any free port, logged)")->capture_default_str();
  sub->add_option("--threads", options->threads, "Worker threads (default: --threads, else all cores)")
      ->check(kNonNegative);
  sub->add_option("--token-file", options->token_file,
                  "File whose first line is the bearer token POST /v1/events requires (or env RECSYS_TOKEN)")
      ->envname("RECSYS_TOKEN_FILE")
      // Empty is a name that went missing, not a request for open writes.
      ->check(CLI::Validator(
          [](std::string& path) {
            return path.empty() ? std::string("the token file name is empty: name the file, or leave the option out "
                                              "to accept events without a token")
                                : std::string();
          },
          "FILE"));
  sub->add_option("--max-connections", options->server.max_connections, "Open connections at most")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--max-connections-per-ip", options->max_connections_per_ip,
                  "Open connections one client address may hold (default: a quarter of --max-connections; 0: "
                  "no limit, e.g. behind a proxy)")
      ->check(kNonNegative);
  sub->add_option("--max-body", options->server.limits.max_body, "Largest request body in bytes")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--idle-timeout", options->idle_timeout, "Seconds a keep-alive connection may stay idle")
      ->capture_default_str();
  sub->add_option("--read-timeout", options->read_timeout,
                  "Seconds to send a request's header from its first byte (and a body's grace period)")
      ->capture_default_str();
  sub->add_option("--min-body-rate", options->server.timeouts.min_body_rate,
                  "Bytes per second a request body must keep after the read grace (0: no minimum)")
      ->capture_default_str();
  sub->add_option("--send-timeout", options->send_timeout, "Seconds a client has to take each batch of responses")
      ->capture_default_str();
  sub->add_option("--event-timeout", options->event_timeout,
                  "Seconds an events request may wait while another process writes to the database (an import, a "
                  "train, a precompute) before it is answered 503 with nothing stored")
      ->capture_default_str();
  sub->add_flag("--access-log", options->server.access_log, "Log one line per request");
  sub->add_flag("--sync-every-commit", options->server.sync_every_commit,
                "Also sync LMDB's meta page at each events commit, so a power loss loses no acknowledged event "
                "(default: synced once a second; a killed process loses nothing either way)");
  sub->callback([&global, &run, options] { run = [&global, options] { run_serve(global, *options); }; });
}

}  // namespace recsys::cli
