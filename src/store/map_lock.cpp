#include "store/map_lock.hpp"

#include <algorithm>
#include <stdexcept>

namespace recsys::store {

MapLock::Hold& MapLock::Hold::operator=(Hold&& o) noexcept {
  if (this != &o) {
    release();
    lock_ = o.lock_;
    owner_ = o.owner_;
    o.lock_ = nullptr;
  }
  return *this;
}

void MapLock::Hold::release() noexcept {
  if (lock_) {
    lock_->unlock_shared(owner_);
    lock_ = nullptr;
  }
}

MapLock::Hold MapLock::shared() {
  auto me = std::this_thread::get_id();
  std::unique_lock lock(mutex_);
  bool nested = std::find(holders_.begin(), holders_.end(), me) != holders_.end();
  // A nested hold must not wait for a pending resize: that resize waits for us.
  if (!nested) changed_.wait(lock, [&] { return !resizing_ && waiting_ == 0; });
  holders_.push_back(me);
  return Hold(this, me);
}

void MapLock::unlock_shared(std::thread::id owner) noexcept {
  std::lock_guard lock(mutex_);
  auto it = std::find(holders_.begin(), holders_.end(), owner);
  if (it != holders_.end()) {
    *it = holders_.back();
    holders_.pop_back();
  }
  if (holders_.empty() && waiting_ > 0) changed_.notify_all();
}

MapLock::Exclusive::Exclusive(MapLock& lock) : lock_(lock) {
  auto me = std::this_thread::get_id();
  std::unique_lock guard(lock_.mutex_);
  if (std::find(lock_.holders_.begin(), lock_.holders_.end(), me) != lock_.holders_.end()) {
    throw std::logic_error(
        "the LMDB map must be resized, but this thread still holds a transaction: "
        "end every transaction of the thread before writing");
  }
  ++lock_.waiting_;
  lock_.changed_.wait(guard, [&] { return !lock_.resizing_ && lock_.holders_.empty(); });
  --lock_.waiting_;
  lock_.resizing_ = true;
}

MapLock::Exclusive::~Exclusive() {
  {
    std::lock_guard guard(lock_.mutex_);
    lock_.resizing_ = false;
  }
  lock_.changed_.notify_all();
}

bool MapLock::held_by_this_thread() {
  std::lock_guard lock(mutex_);
  return std::find(holders_.begin(), holders_.end(), std::this_thread::get_id()) != holders_.end();
}

std::size_t MapLock::holders() {
  std::lock_guard lock(mutex_);
  return holders_.size();
}

}  // namespace recsys::store
