#include "http/admission.hpp"

#include <sys/resource.h>

#include <stdexcept>

#include "util/log.hpp"

namespace recsys::http {

AddressSlot AddressTable::acquire(const boost::asio::ip::address& address) {
  if (limit_ == 0) return AddressSlot(this, {});
  auto v6 = address.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4())
                            : address.to_v6();
  auto bytes = v6.to_bytes();
  std::string key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::lock_guard lock(mutex_);
  auto& count = counts_[key];
  if (count >= limit_) {
    if (count == 0) counts_.erase(key);
    return {};
  }
  ++count;
  return AddressSlot(this, std::move(key));
}

void AddressTable::release(const std::string& key) {
  if (key.empty()) return;  // no limit: nothing counted
  std::lock_guard lock(mutex_);
  auto it = counts_.find(key);
  if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

AddressSlot& AddressSlot::operator=(AddressSlot&& other) noexcept {
  if (this != &other) {
    if (table_) table_->release(key_);
    table_ = other.table_;
    key_ = std::move(other.key_);
    other.table_ = nullptr;
  }
  return *this;
}

AddressSlot::~AddressSlot() {
  if (table_) table_->release(key_);
}

std::size_t fit_descriptor_limit(std::size_t wanted, std::size_t reserved) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return wanted;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted + reserved) return wanted;
  if (lim.rlim_cur <= reserved) {
    throw std::runtime_error("the open-file limit (" + std::to_string(lim.rlim_cur) + ") leaves no room for connections: " +
                             "raise it (ulimit -n, or LimitNOFILE= in the unit) above " + std::to_string(reserved));
  }
  std::size_t fits = static_cast<std::size_t>(lim.rlim_cur) - reserved;
  log::warn("--max-connections lowered from {} to {}: the open-file limit is {} (raise it with ulimit -n or LimitNOFILE=)",
            wanted, fits, static_cast<std::size_t>(lim.rlim_cur));
  return fits;
}

}  // namespace recsys::http
