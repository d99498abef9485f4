// The process-wide map lock of one LMDB environment. LMDB forbids
// mdb_env_set_mapsize while any transaction of the process is live (the map is
// unmapped and mapped again, possibly at another address, so every pointer a
// live transaction holds into it would dangle). The protocol (docs/storage.md,
// "Map size"):
//   - every transaction of the process holds the lock shared for as long as it
//     is live: Database::begin_read / renew / write attach a Hold to the Txn,
//     and Txn::reset / commit / abort release it;
//   - a resize (growing on MDB_MAP_FULL, or adopting the size another process
//     grew the map to after MDB_MAP_RESIZED) takes it exclusively, so it runs
//     only once every transaction of the process has ended;
//   - a waiting resize blocks new transactions (it cannot starve behind a
//     stream of short read snapshots), but a thread that already holds the
//     lock may take it shared again (nested snapshots cannot deadlock);
//   - a thread that holds it shared and asks for it exclusively gets an
//     std::logic_error instead of a deadlock: end your transactions first;
//   - writers take the writers' flock (Database::begin_write_txn) before the
//     hold, so a thread holding a transaction may not begin a write one
//     (std::logic_error): it could wait for the flock with its hold.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace recsys::store {

class MapLock {
 public:
  // One shared hold, released on destruction; movable (it travels with its Txn).
  class Hold {
   public:
    Hold() = default;
    ~Hold() { release(); }
    Hold(Hold&& o) noexcept : lock_(o.lock_), owner_(o.owner_) { o.lock_ = nullptr; }
    Hold& operator=(Hold&& o) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    explicit operator bool() const { return lock_ != nullptr; }
    void release() noexcept;

   private:
    friend class MapLock;
    Hold(MapLock* lock, std::thread::id owner) : lock_(lock), owner_(owner) {}
    MapLock* lock_ = nullptr;
    std::thread::id owner_;
  };

  // Waits while a resize runs or waits, unless this thread already holds the lock.
  Hold shared();

  // Exclusive: waits until no transaction of the process is live. Throws
  // std::logic_error when the calling thread holds a transaction itself.
  class Exclusive {
   public:
    explicit Exclusive(MapLock& lock);
    ~Exclusive();
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;

   private:
    MapLock& lock_;
  };

  // Number of shared holds (for tests and diagnostics).
  std::size_t holders();
  // Whether the calling thread holds the lock shared (a live transaction).
  bool held_by_this_thread();

 private:
  void unlock_shared(std::thread::id owner) noexcept;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread::id> holders_;  // one entry per live hold; guarded by mutex_
  unsigned waiting_ = 0;                  // resizes waiting; guarded by mutex_
  bool resizing_ = false;                 // guarded by mutex_
};

}  // namespace recsys::store
