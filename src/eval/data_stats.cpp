#include "eval/data_stats.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "util/json.hpp"

namespace recsys::eval {

namespace {

constexpr std::size_t kMaxValueBins = 20;

Histogram value_histogram(const std::vector<float>& values) {
  Histogram h;
  if (values.empty()) return h;
  std::map<float, std::uint64_t> distinct;
  for (float v : values) {
    ++distinct[v];
    if (distinct.size() > kMaxValueBins) break;
  }
  if (distinct.size() <= kMaxValueBins) {
    // One bin per value (stars, half stars, implicit 1.0): edges at the values, the last one repeated.
    for (const auto& [v, n] : distinct) {
      h.edges.push_back(v);
      h.counts.push_back(n);
    }
    h.edges.push_back(h.edges.back());
    return h;
  }
  auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  double lo = *mn, hi = *mx, width = (hi - lo) / kMaxValueBins;
  for (std::size_t i = 0; i <= kMaxValueBins; ++i) h.edges.push_back(lo + width * static_cast<double>(i));
  h.counts.assign(kMaxValueBins, 0);
  for (float v : values) {
    auto bin = static_cast<std::size_t>((v - lo) / width);
    ++h.counts[std::min(bin, kMaxValueBins - 1)];
  }
  return h;
}

void append_histogram(std::string& out, const char* name, const Histogram& h) {
  out += fmt::format(",\"{}\":{{\"edges\":[", name);
  for (std::size_t i = 0; i < h.edges.size(); ++i) {
    if (i) out += ',';
    json::append_number(out, h.edges[i]);
  }
  out += fmt::format("],\"counts\":[{}]}}", fmt::join(h.counts, ","));
}

}  // namespace

Histogram log2_histogram(const std::vector<std::uint32_t>& counts) {
  Histogram h;
  std::uint32_t largest = 0;
  for (auto c : counts) largest = std::max(largest, c);
  if (largest == 0) return h;
  std::size_t bins = 1;
  while ((std::uint64_t{1} << bins) <= largest) ++bins;
  for (std::size_t i = 0; i <= bins; ++i) h.edges.push_back(static_cast<double>(std::uint64_t{1} << i));
  h.counts.assign(bins, 0);
  for (auto c : counts) {
    if (c == 0) continue;
    std::size_t bin = 0;
    while ((std::uint64_t{2} << bin) <= c) ++bin;
    ++h.counts[bin];
  }
  return h;
}

DataStats compute_data_stats(const data::RatingTable& table) {
  DataStats s;
  s.ratings = table.size();
  std::vector<std::uint32_t> per_user(table.n_users, 0), per_item(table.n_items, 0);
  for (std::size_t j = 0; j < table.size(); ++j) {
    ++per_user[table.users[j]];
    ++per_item[table.items[j]];
  }
  s.users = static_cast<std::uint32_t>(std::count_if(per_user.begin(), per_user.end(), [](auto c) { return c > 0; }));
  s.items = static_cast<std::uint32_t>(std::count_if(per_item.begin(), per_item.end(), [](auto c) { return c > 0; }));
  s.per_user = log2_histogram(per_user);
  s.per_item = log2_histogram(per_item);
  s.values = value_histogram(table.values);
  if (s.users > 0 && s.items > 0)
    s.density = static_cast<double>(s.ratings) / (static_cast<double>(s.users) * static_cast<double>(s.items));
  return s;
}

std::string data_stats_json(const DataStats& s) {
  std::string out = fmt::format("{{\"ratings\":{},\"users\":{},\"items\":{},\"density\":", s.ratings, s.users, s.items);
  json::append_number(out, s.density);
  append_histogram(out, "ratings_per_user", s.per_user);
  append_histogram(out, "ratings_per_item", s.per_item);
  append_histogram(out, "rating_values", s.values);
  out += '}';
  return out;
}

}  // namespace recsys::eval
