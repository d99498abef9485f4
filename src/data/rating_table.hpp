// Ratings in memory: parallel arrays of (user, item, value, timestamp) with
// dense 32-bit indexes, the form that splits, training and evaluation share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace recsys::data {

struct RatingTable {
  std::uint32_t n_users = 0;  // size of the user index space (every index < n_users)
  std::uint32_t n_items = 0;  // size of the item index space
  std::vector<std::uint32_t> users;
  std::vector<std::uint32_t> items;
  std::vector<float> values;
  std::vector<std::int64_t> timestamps;  // 0 when the input had none

  std::size_t size() const { return users.size(); }
  void reserve(std::size_t n) {
    users.reserve(n);
    items.reserve(n);
    values.reserve(n);
    timestamps.reserve(n);
  }
  void push_back(std::uint32_t u, std::uint32_t i, float v, std::int64_t t) {
    users.push_back(u);
    items.push_back(i);
    values.push_back(v);
    timestamps.push_back(t);
  }
};

}  // namespace recsys::data
