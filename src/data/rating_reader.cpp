#include "data/rating_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

#include "data/byte_source.hpp"
#include "data/chunk_parser.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/progress.hpp"

namespace recsys::data {

namespace {

constexpr std::size_t kParallelMinBytes = std::size_t{1} << 20;

class FileReader {
 public:
  FileReader(const std::string& path, const ReadOptions& options, ReadResult& out)
      : path_(path), options_(options), out_(out), source_(open_source(path)) {}

  void run();

 private:
  void parse_text(std::string_view text);
  void report(std::uint64_t line, const std::string& reason);
  void reserve_for(std::size_t chunk_bytes, std::size_t rows_in_chunk);

  std::string path_;
  const ReadOptions& options_;
  ReadResult& out_;
  std::unique_ptr<ByteSource> source_;
  Layout layout_;
  std::vector<std::unique_ptr<ChunkParser>> parsers_;
  std::uint64_t line_base_ = 1;  // 1-based number of the next line to parse
  std::uint64_t valid_ = 0;    // this file's valid rows
  std::uint64_t invalid_ = 0;  // this file's malformed rows
  std::vector<std::string> first_errors_;  // this file's first few, for the summary of a rejected file
  bool reserved_ = false;
};

void FileReader::report(std::uint64_t line, const std::string& reason) {
  std::string message = fmt::format("{}:{}: {}", source_->name(), line, reason);
  if (options_.strict) throw std::runtime_error(message + " (--strict: nothing imported)");
  ++out_.skipped;
  ++invalid_;
  if (first_errors_.size() < 3) first_errors_.push_back(message);
  if (out_.errors.size() < options_.max_listed_errors) out_.errors.push_back(std::move(message));
}

void FileReader::reserve_for(std::size_t chunk_bytes, std::size_t rows_in_chunk) {
  // Size the row arrays once from the first chunk's density, so 20 M rows
  // do not go through repeated doubling copies.
  reserved_ = true;
  if (source_->total() == 0 || chunk_bytes == 0 || source_->total() <= chunk_bytes) return;
  double rows_per_byte = static_cast<double>(rows_in_chunk) / static_cast<double>(chunk_bytes);
  auto estimate = static_cast<std::size_t>(rows_per_byte * static_cast<double>(source_->total()) * 1.02);
  out_.rows.reserve(out_.rows.size() + estimate);
}

void FileReader::parse_text(std::string_view text) {
  // Split into one part per thread at line ends.
  unsigned threads = text.size() >= kParallelMinBytes ? std::max(1u, options_.threads) : 1u;
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  for (unsigned t = 0; t < threads; ++t) {
    std::size_t end = text.size() * (t + 1) / threads;
    if (t + 1 < threads) {
      auto nl = text.find('\n', std::max(begin, end));
      end = nl == std::string_view::npos ? text.size() : nl + 1;
    } else {
      end = text.size();
    }
    parts.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  while (parsers_.size() < parts.size()) {
    parsers_.push_back(std::make_unique<ChunkParser>(layout_, out_.users, out_.items));
  }
  std::vector<std::uint64_t> lines(parts.size());
  parallel_chunks(parts.size(), static_cast<unsigned>(parts.size()), [&](std::size_t b, std::size_t e, unsigned) {
    for (std::size_t t = b; t < e; ++t) lines[t] = parsers_[t]->parse(parts[t]);
  });

  // Merge in file order: errors, then new ids (first appearance), then rows.
  auto& rows = out_.rows;
  for (std::size_t t = 0; t < parts.size(); ++t) {
    ChunkParser& p = *parsers_[t];
    for (const auto& e : p.errors) report(line_base_ + e.line, e.reason);
    out_.rows_read += p.users.size() + p.errors.size();
    valid_ += p.users.size();
    std::vector<std::uint32_t> user_map = p.new_users.merge_into(out_.users);
    std::vector<std::uint32_t> item_map = p.new_items.merge_into(out_.items);
    if (!reserved_) reserve_for(text.size(), p.users.size() * parts.size());
    std::size_t base = rows.size();
    std::size_t n = p.users.size();
    rows.users.resize(base + n);
    rows.items.resize(base + n);
    for (std::size_t k = 0; k < n; ++k) {
      std::uint32_t u = p.users[k], i = p.items[k];
      rows.users[base + k] = (u & kProvisional) ? user_map[u & ~kProvisional] : u;
      rows.items[base + k] = (i & kProvisional) ? item_map[i & ~kProvisional] : i;
    }
    rows.values.insert(rows.values.end(), p.values.begin(), p.values.end());
    rows.timestamps.insert(rows.timestamps.end(), p.timestamps.begin(), p.timestamps.end());
    line_base_ += lines[t];
    p.reset();
  }
}

void FileReader::run() {
  const std::size_t cap = std::max<std::size_t>(options_.chunk_bytes, 4096);
  // Two buffers: the next block is read (and decompressed) while this one is parsed.
  std::unique_ptr<char[]> buffers[2] = {std::unique_ptr<char[]>(new char[cap]), nullptr};
  int current = 0;
  std::size_t filled = 0;
  bool eof = false, first = true, skipping = false, prefetched = false;
  std::uint64_t total_mib = source_->total() >> 20;
  Progress progress("reading " + source_->name(), total_mib, "MiB");
  for (;;) {
    char* buf = buffers[current].get();
    if (!eof && !prefetched) {
      std::size_t got = read_full(*source_, buf + filled, cap - filled);
      filled += got;
      eof = filled < cap;
    }
    prefetched = false;
    std::string_view data(buf, filled);
    std::size_t start = 0;
    if (first) {
      first = false;
      if (data.starts_with("\xEF\xBB\xBF")) start = 3;  // UTF-8 byte order mark
      refuse_cr_line_ends(data.substr(start), source_->name());
      layout_ = detect_layout(data.substr(start), options_.format, options_.columns, source_->name());
      for (const auto& u : layout_.unread) {
        log::warn("{}: the text column '{}' is not read as the {}: none of its first values is one (--columns "
                  "names the columns to read)",
                  source_->name(), u.name, u.role);
      }
      if (!layout_.has_rating()) {
        if (options_.require_values) {
          throw UsageError(fmt::format("--values ratings needs a value column in every file, and {} has none "
                                       "(name it with --columns, or leave --values out)",
                                       source_->name()));
        }
        if (out_.all_explicit) out_.without_values = source_->name();
        out_.all_explicit = false;
      }
      if (!layout_.counts_name.empty() && out_.counts_column.empty()) {
        out_.counts_column = fmt::format("'{}' in {}", layout_.counts_name, source_->name());
      }
      if (layout_.has_rating() && layout_.counts_name.empty() && out_.ratings_file.empty()) {
        out_.ratings_file = source_->name();
      }
      if (layout_.header) {
        // Skip blank lines before the header too (detection ignores them).
        for (;;) {
          auto nl = data.find('\n', start);
          std::string_view line = data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
          start = nl == std::string_view::npos ? data.size() : nl + 1;
          ++line_base_;
          if (line.find_first_not_of(" \r") != std::string_view::npos || start == data.size()) break;
        }
      }
    }
    if (skipping) {
      // The rest of an over-long line.
      auto nl = data.find('\n', start);
      if (nl == std::string_view::npos) {
        filled = 0;
        if (eof) break;
        continue;
      }
      start = nl + 1;
      skipping = false;
    }
    std::size_t end = data.size();
    if (!eof) {
      const void* last = memrchr(data.data() + start, '\n', data.size() - start);
      if (!last) {
        if (start > 0) {  // a partial line: move it to the front and read on
          std::memmove(buf, buf + start, filled - start);
          filled -= start;
          continue;
        }
        // One line fills the whole buffer: report it and skip to its end.
        ++out_.rows_read;
        report(line_base_, fmt::format("line is longer than {} bytes", std::min(cap, kMaxLineBytes)));
        ++line_base_;
        skipping = true;
        filled = 0;
        continue;
      }
      end = static_cast<std::size_t>(static_cast<const char*>(last) - data.data()) + 1;
    }
    std::size_t carry = filled - end;  // the partial last line
    if (eof) {
      parse_text(data.substr(start, end - start));
      break;
    }
    if (!buffers[1 - current]) buffers[1 - current].reset(new char[cap]);
    char* next = buffers[1 - current].get();
    std::size_t got = 0;
    std::exception_ptr read_error;
    std::thread reader([&] {
      try {
        got = read_full(*source_, next + carry, cap - carry);
      } catch (...) {
        read_error = std::current_exception();
      }
    });
    try {
      parse_text(data.substr(start, end - start));
    } catch (...) {
      reader.join();
      throw;
    }
    reader.join();
    if (read_error) std::rethrow_exception(read_error);
    if (total_mib > 0 && options_.progress) progress.update(source_->position() >> 20);
    std::memcpy(next, buf + end, carry);
    current = 1 - current;
    filled = carry + got;
    eof = filled < cap;
    prefetched = true;
    if (eof && filled == 0) break;
  }
  if (valid_ == 0) {
    throw std::runtime_error(source_->name() + ": no valid rating rows" +
                             (invalid_ > 0 ? fmt::format(" ({} malformed; the first: {})", invalid_, first_errors_[0])
                              : layout_.header ? std::string(" (only a header)")
                                               : std::string(" (the file is empty)")));
  }
  // Mostly malformed rows mean the wrong file (u.item for u.data) or the wrong
  // --format/--columns: importing the few rows that happen to parse would
  // replace real data with junk.
  std::uint64_t rows = valid_ + invalid_;
  if (static_cast<double>(invalid_) > options_.max_bad_fraction * static_cast<double>(rows)) {
    throw std::runtime_error(fmt::format(
        "{}: {} of {} rows ({:.1f}%) are malformed, more than --max-bad-fraction {} allows: {} "
        "(the wrong file, or check --format and --columns). The first: {}",
        source_->name(), invalid_, rows, 100.0 * static_cast<double>(invalid_) / static_cast<double>(rows),
        options_.max_bad_fraction, options_.refused, fmt::join(first_errors_, "; ")));
  }
  if (progress.elapsed() > 2.0 && options_.progress) progress.finish();
}

}  // namespace

void read_rating_files(const std::vector<std::string>& files, const ReadOptions& options, ReadResult& out) {
  if (files.empty()) throw std::invalid_argument("no rating files given");
  for (const auto& f : files) {
    FileReader reader(f, options, out);
    reader.run();
  }
  out.rows.n_users = out.users.size();
  out.rows.n_items = out.items.size();
}

}  // namespace recsys::data
