// Where each setting comes from. Precedence: command line > environment >
// --config file > default (docs/operations.md "Configuration"). CLI11 itself
// lets a file beat an environment variable, so the file reader below drops a
// file key whose option's variable is set, and it refuses keys that name no
// option, as the command line refuses unknown options. The mechanism walks the
// CLI11 options, so an option added anywhere is covered without a change here.
#pragma once

#include <CLI/CLI.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.hpp"

namespace recsys::cli {

// Filled while main() parses the command line (one thread), read by `config --print`.
struct ConfigSources {
  std::vector<std::string> argv;           // command-line tokens after the program name
  std::string file;                        // the --config file read, if any
  std::set<const CLI::Option*> from_file;  // options whose value came from that file
};

enum class Origin { Default, File, Env, Cli };

// Installs the checking TOML/INI reader on `app` (call before parsing).
void install_config_reader(CLI::App& app, ConfigSources& sources);

// " (set in the config file F)" when `message`, an error about an option
// ("--name: ..." or "--name excludes ..."), is about an option whose value
// came from the config file and not from the command line; else empty.
std::string config_file_note(std::string_view message, const ConfigSources& sources);

// The message for a command-line or config-file parse error: a config file
// that cannot be read says why (missing, a directory, permission), and an
// error about a value from the file names the file (config_file_note).
std::string parse_error_message(const std::string& message, const ConfigSources& sources);

// Where the value of `option` came from after parsing.
Origin origin_of(const CLI::Option& option, const ConfigSources& sources);

void setup_config(CLI::App& app, const GlobalOptions& global, Runner& run, const ConfigSources& sources);

}  // namespace recsys::cli
