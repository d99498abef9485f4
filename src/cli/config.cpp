// recsys config --print, and the --config file reader that enforces the
// precedence and refuses unknown keys (see config.hpp).
#include "cli/config.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

namespace recsys::cli {

namespace {

bool env_set(const CLI::Option& option) {
  const std::string name = option.get_envname();
  if (name.empty()) return false;
  const char* value = std::getenv(name.c_str());
  return value && *value;
}

// The option a config key names in `scope`, the way CLI11 matches it.
CLI::Option* find_option(CLI::App& scope, const std::string& name) {
  CLI::Option* op = scope.get_option_no_throw("--" + name);
  if (!op && name.size() == 1) op = scope.get_option_no_throw("-" + name);
  if (!op) op = scope.get_option_no_throw(name);
  return op;
}

// What CLI11 2.1's TOML reader gets wrong, done before it reads the file: it
// cuts a value at the first '#' even inside quotes ("x#1.db" became `"x`),
// keeps TOML's backslash escapes in quoted strings (config --print writes
// "a\\b" for a\b), and reads a UTF-8 byte order mark as part of the first
// key. Here a comment starts at a '#' outside quotes only, and a double-quoted
// string's \\ and \" become \ and ". CLI11's own comment character is
// then one no text holds.
constexpr char kNoComment = '\x01';

std::string normalise_config(std::istream& in, const std::string& file) {
  std::string out, line;
  bool first = true;
  for (int number = 1; std::getline(in, line); ++number) {
    if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    first = false;
    std::string kept;
    char quote = 0;
    for (std::size_t j = 0; j < line.size(); ++j) {
      const char c = line[j];
      if (quote == '"' && c == '\\' && j + 1 < line.size() && (line[j + 1] == '\\' || line[j + 1] == '"')) {
        kept += line[++j];
        continue;
      }
      // A quote opens a string only where a value or an array element starts
      // (o'brien in an unquoted value is a letter), a line of a multi-line
      // array included.
      const auto last = kept.find_last_not_of(" \t");
      const bool value_start =
          last == std::string::npos || kept[last] == '=' || kept[last] == '[' || kept[last] == ',';
      if (quote) {
        if (c == quote) quote = 0;
      } else if ((c == '"' || c == '\'') && value_start) {
        quote = c;
      } else if (c == '#') {
        break;
      }
      kept += c;
    }
    // A string runs to its closing quote on the same line; CLI11 would keep
    // the opening quote as part of the value (db = "x became a directory "x).
    if (quote) {
      throw CLI::ConfigError(
          fmt::format("{}:{}: a string opened with {} is not closed on its line", file, number, quote));
    }
    out += kept;
    out += '\n';
  }
  return out;
}

// TOML allows neither a key nor a table twice. CLI11 2.1 merges a key
// repeated on consecutive lines into one (then fails with "At Most 1
// required", naming no file), keeps the first of two far apart, and merges
// repeated tables: refused here with the line, on the text normalise_config
// wrote (comments gone, line numbers kept). Returns the line of each key
// (section, key) and section header (section, ""), for the messages about
// what CLI11 reads without lines.
using KeyLines = std::map<std::pair<std::string, std::string>, int>;
KeyLines refuse_repeats(const std::string& text, const std::string& file) {
  std::set<std::string> sections;
  KeyLines keys;
  std::string section;
  int depth = 0;  // open '[' of a multi-line array value
  std::istringstream in(text);
  std::string line;
  auto brackets = [](std::string_view v) {
    int d = 0;
    char quote = 0;
    for (char c : v) {
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else {
        d += c == '[' ? 1 : c == ']' ? -1 : 0;
      }
    }
    return d;
  };
  for (int number = 1; std::getline(in, line); ++number) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string_view rest = std::string_view(line).substr(start);
    if (depth > 0) {
      depth += brackets(rest);
      continue;
    }
    if (rest.front() == '[') {
      const auto close = rest.find(']');
      std::string_view name = rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
      const auto from = name.find_first_not_of(" \t");
      section = from == std::string_view::npos ? std::string()
                                                : std::string(name.substr(from, name.find_last_not_of(" \t") - from + 1));
      if (!sections.insert(section).second) {
        throw CLI::ConfigError(fmt::format("{}:{}: section [{}] appears twice (write its settings in one place)", file,
                                           number, section));
      }
      keys.emplace(std::pair(section, std::string()), number);  // the section's own line: key ""
      continue;
    }
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) continue;  // CLI11 reports what it cannot read
    std::string_view key = rest.substr(0, eq);
    key = key.substr(0, key.find_last_not_of(" \t") + 1);
    if (!keys.emplace(std::pair(section, std::string(key)), number).second) {
      throw CLI::ConfigError(fmt::format("{}:{}: '{}'{} is set twice", file, number, key,
                                         section.empty() ? "" : " in [" + section + "]"));
    }
    depth = std::max(0, brackets(rest.substr(eq + 1)));
  }
  return keys;
}

CLI::App* find_subcommand(CLI::App& scope, const std::string& name) {
  auto found = scope.get_subcommands([&](CLI::App* sub) { return !sub->get_name().empty() && sub->check_name(name); });
  return found.empty() ? nullptr : found.front();
}

class CheckedConfig : public CLI::ConfigTOML {
 public:
  CheckedConfig(CLI::App& app, ConfigSources& sources) : app_(app), sources_(sources) { comment(kNoComment); }

  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    auto config = app_.get_config_ptr();
    sources_.file = config && !config->results().empty() ? config->results().front() : std::string("config file");
    // Read with a bound first: --config /dev/zero grew memory without end.
    constexpr std::size_t kMaxBytes = 1 << 20;
    std::string raw(kMaxBytes + 1, '\0');
    in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
    raw.resize(static_cast<std::size_t>(in.gcount()));
    if (raw.size() > kMaxBytes)
      throw CLI::ConfigError(fmt::format("{}: over 1 MiB: not a configuration file", sources_.file));
    std::istringstream bounded(raw);
    const std::string text = normalise_config(bounded, sources_.file);
    const KeyLines lines = refuse_repeats(text, sources_.file);
    std::istringstream normalised(text);
    std::vector<CLI::ConfigItem> kept;
    for (auto& item : CLI::ConfigTOML::from_config(normalised)) {
      const std::string section = CLI::detail::join(item.parents, ".");
      const auto line = lines.find(std::pair(section, item.name));
      const std::string at = sources_.file + (line == lines.end() ? "" : ":" + std::to_string(line->second));
      CLI::App* scope = &app_;
      for (const auto& parent : item.parents) {
        scope = find_subcommand(*scope, parent);
        if (!scope) {
          const auto header = lines.find(std::pair(section, std::string()));
          throw CLI::ConfigError(fmt::format("{}{}: unknown section [{}] (sections are subcommands: [train], [serve], ...)",
                                             sources_.file, header == lines.end() ? "" : ":" + std::to_string(header->second),
                                             section));
        }
      }
      if (item.name == "++" || item.name == "--") {  // section start and end markers
        kept.push_back(std::move(item));
        continue;
      }
      CLI::Option* op = find_option(*scope, item.name);
      const std::string where = section.empty() ? "" : " in [" + section + "]";
      if (!op) {
        throw CLI::ConfigError(fmt::format("{}: unknown setting '{}'{} (see recsys {}--help)", at, item.name, where,
                                           scope == &app_ ? "" : scope->get_name() + " "));
      }
      if (op == app_.get_config_ptr()) {
        throw CLI::ConfigError(fmt::format("{}: '{}' cannot name another config file", at, item.name));
      }
      if (op->count() > 0) continue;  // given on the command line, which wins
      // ... also over a file's option that the command line's one excludes
      // (`append = true` in the file, `--replace` given).
      const auto excludes = op->get_excludes();
      if (std::any_of(excludes.begin(), excludes.end(), [](const CLI::Option* o) { return o->count() > 0; })) continue;
      if (env_set(*op)) continue;     // the environment beats the file
      sources_.from_file.insert(op);
      kept.push_back(std::move(item));
    }
    return kept;
  }

 private:
  CLI::App& app_;
  ConfigSources& sources_;
};

bool given_on_command_line(const CLI::Option& option, const std::vector<std::string>& argv) {
  for (const auto& token : argv) {
    if (token == "--") return false;
    if (token.rfind("--", 0) == 0) {
      std::string name = token.substr(2, token.find('=') == std::string::npos ? std::string::npos : token.find('=') - 2);
      if (option.check_lname(name)) return true;
    } else if (token.size() >= 2 && token[0] == '-' && option.check_sname(token.substr(1, 1))) {
      return true;
    }
  }
  return false;
}

// A value as TOML: numbers and booleans bare, everything else quoted.
std::string toml_value(const std::string& v) {
  if (v == "true" || v == "false") return v;
  char* end = nullptr;
  if (!v.empty()) {
    std::strtod(v.c_str(), &end);
    if (end && *end == '\0') return v;
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

std::string value_of(const CLI::Option& option) {
  const auto& results = option.results();
  if (results.empty()) {
    std::string d = option.get_default_str();
    return d.empty() && option.get_expected_min() == 0 ? "false" : toml_value(d);
  }
  if (results.size() == 1) return toml_value(results.front());
  std::string out = "[";
  for (std::size_t i = 0; i < results.size(); ++i) out += (i ? ", " : "") + toml_value(results[i]);
  return out + "]";
}

std::string describe(Origin origin, const CLI::Option& option, const ConfigSources& sources) {
  switch (origin) {
    case Origin::Cli: return "command line";
    case Origin::Env: return "env " + option.get_envname();
    case Origin::File: return "file " + sources.file;
    case Origin::Default: break;
  }
  return "default";
}

// An option that expects a value but has none and no default: TOML has nothing
// to say for it, and `name = ""` would not read back (config --print output
// must always work as a --config file).
bool has_value(const CLI::Option& option) {
  return !option.results().empty() || !option.get_default_str().empty() || option.get_expected_min() == 0;
}

bool printable(const CLI::Option* op, const CLI::App& app) {
  return op != app.get_help_ptr() && op != app.get_help_all_ptr() && op != app.get_config_ptr() &&
         op->get_name() != "--version";
}

// Global settings always; a subcommand's only where something other than the default set them.
void print_config(CLI::App& app, const ConfigSources& sources) {
  std::printf("# effective settings; after '#': where each comes from\n");
  std::printf("# (precedence: command line > env > file > default)\n");
  auto print_scope = [&](CLI::App& scope, bool all) {
    bool header = false;
    for (const CLI::Option* op : scope.get_options([&](const CLI::Option* o) { return printable(o, app); })) {
      Origin origin = origin_of(*op, sources);
      if (!all && origin == Origin::Default) continue;
      if (&scope != &app && !header) {
        std::printf("\n[%s]\n", scope.get_name().c_str());
        header = true;
      }
      std::string name = op->get_single_name();
      if (!has_value(*op)) {
        std::printf("# %s: not set\n", name.c_str());
        continue;
      }
      std::string line = fmt::format("{} = {}", name, value_of(*op));
      std::printf("%-40s # %s\n", line.c_str(), describe(origin, *op, sources).c_str());
    }
  };
  print_scope(app, true);
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return !s->get_name().empty() && s->get_name() != "config"; })) {
    print_scope(*sub, false);
  }
}

}  // namespace

std::string config_file_note(std::string_view message, const ConfigSources& sources) {
  // The option's name as a word of the message: "--port: ...", "--append
  // excludes ...", CLI11's "Could not convert: --port = 99999".
  auto names = [&](const std::string& name) {
    for (auto at = message.find(name); at != std::string_view::npos; at = message.find(name, at + 1)) {
      const bool starts = at == 0 || message[at - 1] == ' ';
      const std::size_t end = at + name.size();
      if (starts && end < message.size() && (message[end] == ':' || message[end] == ' ')) return true;
    }
    return false;
  };
  for (const CLI::Option* op : sources.from_file) {
    const std::string name = op->get_name();
    if (!names(name)) continue;
    // The same name given on the command line (another subcommand's option
    // of that name may come from the file) leaves the source open.
    if (given_on_command_line(*op, sources.argv)) return {};
    return fmt::format(" (set in the config file {})", sources.file);
  }
  return {};
}

std::string parse_error_message(const std::string& message, const ConfigSources& sources) {
  // CLI11 says "F was not readable (missing?)" for a directory and for a file
  // it may not read as well: say which.
  constexpr std::string_view kUnreadable = " was not readable (missing?)";
  if (message.size() > kUnreadable.size() && message.ends_with(kUnreadable)) {
    const std::string file = message.substr(0, message.size() - kUnreadable.size());
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || (!S_ISDIR(st.st_mode) && ::access(file.c_str(), R_OK) != 0))
      return fmt::format("--config {}: cannot read it: {}", file, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fmt::format("--config {}: a directory, not a configuration file", file);
    return message;
  }
  std::string said = message;
  // CLI11's words for an option given twice ("--threads: At Most 1 required
  // but received 2") and a value it cannot convert ("Could not convert:
  // --port = 99999"), said plainly.
  constexpr std::string_view kTwice = ": At Most 1 required but received ";
  constexpr std::string_view kConvert = "Could not convert: ";
  if (const auto at = said.find(kTwice); at != std::string::npos) {
    // (Also "factors = [3, 4]" in a file: one setting, two values.)
    said = fmt::format("{}: takes one value and was given {}", said.substr(0, at), said.substr(at + kTwice.size()));
  } else if (said.starts_with(kConvert)) {
    if (const auto eq = said.find(" = ", kConvert.size()); eq != std::string::npos)
      said = fmt::format("{}: {} is not a valid value", said.substr(kConvert.size(), eq - kConvert.size()),
                         said.substr(eq + 3));
  }
  return said + config_file_note(said, sources);
}

void install_config_reader(CLI::App& app, ConfigSources& sources) {
  app.config_formatter(std::make_shared<CheckedConfig>(app, sources));
  app.allow_config_extras(CLI::config_extras_mode::error);
}

Origin origin_of(const CLI::Option& option, const ConfigSources& sources) {
  if (sources.from_file.count(&option)) return Origin::File;
  if (option.count() == 0) return Origin::Default;
  if (env_set(option) && !given_on_command_line(option, sources.argv)) return Origin::Env;
  return Origin::Cli;
}

void setup_config(CLI::App& app, const GlobalOptions&, Runner& run, const ConfigSources& sources) {
  auto* sub = app.add_subcommand("config", "Show the effective settings and where each comes from");
  auto print = std::make_shared<bool>(false);
  sub->add_flag("--print", *print, "Print the settings as TOML, each with its source (the default action)");
  sub->callback([&app, &run, &sources, print] { run = [&app, &sources] { print_config(app, sources); }; });
}

}  // namespace recsys::cli
