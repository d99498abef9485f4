// The import options and report shared by `recsys import` and `recsys train
// FILE...`, so both accept the very same flags and print the same summary.
#pragma once

#include <CLI/CLI.hpp>

#include "data/import.hpp"

namespace recsys::cli {

// --format, --columns, --append, --replace, --strict, --max-bad-fraction
void add_import_options(CLI::App& sub, data::ImportOptions& options);

// Closes `db` and, when this process created it and it is still empty,
// removes it: a failed first import leaves no database behind.
void discard_if_created(store::Database&& db) noexcept;

// Malformed rows ("FILE:LINE: reason", the first few, then a count) on stderr.
void print_import_errors(const data::ImportReport& report);
// The one-paragraph summary (rows read, imported, skipped, users, items, time).
std::string import_summary(const data::ImportReport& report);

}  // namespace recsys::cli
