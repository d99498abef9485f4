// The one writer thread of the server: LMDB serialises write transactions, so
// POST /v1/events requests are queued here and applied by a single thread.
// Requests that arrive while a transaction commits are applied together in the
// next one (group commit). Commits do not wait for the disk: the environment
// is switched to MDB_NOSYNC for this process and flushed once a second and at
// stop (like Redis' appendfsync everysec). A killed process loses nothing
// committed (the pages are in the OS cache); an OS crash may lose the last
// second of events. `sync_every_commit` restores one fsync per commit.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rank/realtime.hpp"
#include "store/database.hpp"

namespace recsys::http {

struct EventResult {
  unsigned status = 200;
  std::string body;
};

class EventWriter {
 public:
  using Done = std::function<void(EventResult)>;

  EventWriter(store::Database& db, bool sync_every_commit);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // `done` runs on the writer thread after the commit (post it to your executor).
  void submit(std::vector<rank::Event> events, Done done);
  // Applies what is queued, then ends the thread.
  void stop();

 private:
  struct Job {
    std::vector<rank::Event> events;
    Done done;
  };
  void run();
  void run_flusher();
  void apply(std::vector<Job>& jobs);

  store::Database& db_;
  bool sync_every_commit_;
  std::atomic<bool> dirty_{false};  // committed without fsync since the last flush
  rank::RealtimeRanker ranker_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::thread flusher_;  // fdatasync off the writer thread, so commits never wait for it
};

}  // namespace recsys::http
