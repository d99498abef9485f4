// Fair connection limits: how many connections one client address holds,
// counted across all workers, and the descriptor budget the cap must fit in
// (docs/serving.md, "Limits").
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace recsys::http {

class AddressSlot;

// Open connections per client address, shared by every worker. Owner: the
// server; mutex_ guards counts_ (taken once when a connection opens and once
// when it closes, never per request).
class AddressTable {
 public:
  // 0: no per-address limit (behind a proxy every client has its address).
  void set_limit(std::size_t per_address) { limit_ = per_address; }
  std::size_t limit() const { return limit_; }
  // A slot for `address`, or an empty slot when it already holds the limit.
  AddressSlot acquire(const boost::asio::ip::address& address);

 private:
  friend class AddressSlot;
  void release(const std::string& key);

  std::size_t limit_ = 0;
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> counts_;  // key: the 16-byte IPv6 (or v4-mapped) address
};

// One connection's share of its address's count; released on destruction.
class AddressSlot {
 public:
  AddressSlot() = default;
  AddressSlot(AddressTable* table, std::string key) : table_(table), key_(std::move(key)) {}
  AddressSlot(AddressSlot&& other) noexcept : table_(other.table_), key_(std::move(other.key_)) {
    other.table_ = nullptr;
  }
  AddressSlot& operator=(AddressSlot&& other) noexcept;
  AddressSlot(const AddressSlot&) = delete;
  AddressSlot& operator=(const AddressSlot&) = delete;
  ~AddressSlot();
  explicit operator bool() const { return table_ != nullptr; }

 private:
  AddressTable* table_ = nullptr;
  std::string key_;
};

// Raises the soft RLIMIT_NOFILE to the hard limit and returns the number of
// connections that fit in it next to `reserved` other descriptors (at most
// `wanted`; a warning is logged when it is fewer).
std::size_t fit_descriptor_limit(std::size_t wanted, std::size_t reserved);

}  // namespace recsys::http
