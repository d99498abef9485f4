// Simulated power loss: after a kill -9 of a process that ran with the
// power-loss shim (power_loss_shim.c), rolls the data file back to what a disk
// may hold after the power fails at that moment — every synced write, and of
// the unsynced ones, per 4 KiB page any version the page had since the last
// sync that covered it (the kernel writes dirty pages back in any order, at
// any time). `drop_all` keeps none of the unsynced versions.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace recsys::test {

inline constexpr std::size_t kShimPage = 4096;

struct PowerLoss {
  std::optional<std::int64_t> last_sync_ns;  // CLOCK_MONOTONIC start of the last completed sync
  std::size_t pending_pages = 0;             // pages with unsynced writes
  std::size_t rolled_back = 0;               // of those, pages given an older version
};

namespace detail {

struct PageWrite {
  std::uint64_t seq;
  std::uint64_t size_before;
  bool hole;
  std::string image;  // the page before this write
};

template <typename T>
T take(std::ifstream& in) {
  T v{};
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  return v;
}

}  // namespace detail

inline PowerLoss lose_power(const std::filesystem::path& data_file, const std::filesystem::path& journal,
                            std::mt19937& rng, bool drop_all) {
  PowerLoss out;
  std::map<std::uint64_t, std::vector<detail::PageWrite>> writes;  // page -> writes in order
  std::map<std::uint64_t, std::uint64_t> durable;                  // page -> O_DSYNC write seq
  std::uint64_t synced_before = 0;                                 // writes with seq < this are durable
  std::ifstream in(journal, std::ios::binary);
  char tag;
  while (in.get(tag)) {
    if (tag == 'W') {
      detail::PageWrite w;
      w.seq = detail::take<std::uint64_t>(in);
      auto page = detail::take<std::uint64_t>(in);
      w.size_before = detail::take<std::uint64_t>(in);
      w.hole = detail::take<char>(in) != 0;
      w.image.resize(kShimPage);
      in.read(w.image.data(), kShimPage);
      if (!in) break;  // the last record may be cut by the kill
      writes[page].push_back(std::move(w));
    } else if (tag == 'D') {
      auto s = detail::take<std::uint64_t>(in);
      auto page = detail::take<std::uint64_t>(in);
      if (!in) break;
      durable[page] = std::max(durable[page], s);
    } else if (tag == 'S') {
      auto s = detail::take<std::uint64_t>(in);
      auto ns = detail::take<std::int64_t>(in);
      if (!in) break;
      if (s >= synced_before) {
        synced_before = s;
        out.last_sync_ns = std::max(out.last_sync_ns.value_or(ns), ns);
      }
    } else {
      throw std::runtime_error("power-loss journal: unknown record");
    }
  }

  int fd = ::open(data_file.c_str(), O_RDWR);
  if (fd < 0) throw std::runtime_error("cannot open " + data_file.string());
  std::uint64_t size = std::filesystem::file_size(data_file);
  std::optional<std::uint64_t> base_size;  // file size when the first unsynced write began
  std::map<std::uint64_t, bool> hole_after;  // pending page -> chosen version is a hole
  for (auto& [page, list] : writes) {
    std::vector<const detail::PageWrite*> pending;
    for (const auto& w : list) {
      bool covered = w.seq < synced_before || (durable.count(page) && w.seq <= durable[page]);
      if (!covered) pending.push_back(&w);
    }
    if (pending.empty()) continue;
    ++out.pending_pages;
    for (auto* w : pending) base_size = std::min(base_size.value_or(w->size_before), w->size_before);
    // Versions: before the 1st unsynced write, ..., before the last, current.
    std::size_t version = drop_all ? 0 : std::uniform_int_distribution<std::size_t>(0, pending.size())(rng);
    if (version == pending.size()) {
      hole_after[page] = false;
      continue;
    }
    ++out.rolled_back;
    const auto* w = pending[version];
    hole_after[page] = w->hole;
    std::string zeros(kShimPage, '\0');
    const std::string& image = w->hole ? zeros : w->image;
    if (::pwrite(fd, image.data(), kShimPage, static_cast<off_t>(page * kShimPage)) !=
        static_cast<ssize_t>(kShimPage)) {
      ::close(fd);
      throw std::runtime_error("cannot roll back a page of " + data_file.string());
    }
  }
  // The file ends after its last page that holds data on the "disk".
  if (base_size) {
    std::uint64_t end = *base_size;
    for (std::uint64_t page = *base_size / kShimPage; page * kShimPage < size; ++page) {
      auto h = hole_after.find(page);
      if (h == hole_after.end() || !h->second) end = std::max(end, std::min(size, (page + 1) * kShimPage));
    }
    if (end < size && ::ftruncate(fd, static_cast<off_t>(end)) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot truncate " + data_file.string());
    }
  }
  ::fsync(fd);
  ::close(fd);
  return out;
}

}  // namespace recsys::test
