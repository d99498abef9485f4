// The one writer thread of the server: LMDB serialises write transactions, so
// POST /v1/events requests are queued here and applied by a single thread.
// Requests that arrive while a transaction commits are applied together in the
// next one (group commit); each is answered only after that commit.
//
// A write transaction waits for the database's write lock while another
// process holds it (an import, a train, a precompute): at most
// `lock_timeout` from a request's submit, then its group is answered 503 and
// nothing of it is stored (docs/serving.md, "Events beside other writers").
//
// Durability (docs/serving.md, "Durability of events"): the environment runs
// with MDB_NOMETASYNC for this process: every commit fdatasyncs the data
// pages, the meta page is synced by the next commit or by the flusher thread,
// which calls mdb_env_sync(force) every flush interval. LMDB keeps the last
// synced snapshot's pages intact, so a power loss can undo at most the last
// commit before it and never corrupts; a killed process loses nothing
// committed. `sync_every_commit` syncs the meta page at each commit as well
// (LMDB's default: a power loss loses nothing acknowledged, one more fdatasync
// per commit). A commit the disk refuses answers its requests 503; the next
// events are tried again when nothing acknowledged awaits a sync or the disk is
// full (see apply). After a failed sync, or a failed commit that may have lost
// one, the writer refuses events (503 `unavailable`) for the life of the
// process; reads go on. When LMDB marks the environment broken (MDB_PANIC:
// every transaction fails, reads included) the process exits 1 for the
// service manager to restart it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/metrics.hpp"
#include "rank/realtime.hpp"
#include "store/database.hpp"

namespace recsys::http {

struct EventResult {
  unsigned status = 200;
  std::string body;
};

struct EventWriterOptions {
  bool sync_every_commit = false;
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::seconds reader_check_interval{30};  // mdb_reader_check
  // How long a request may wait, from its submit, for the database's write
  // lock while another process holds it (an import, a train, a precompute, or
  // a stopped one): then it is answered 503, nothing of it stored.
  std::chrono::milliseconds lock_timeout{10000};
};

class EventWriter {
 public:
  using Done = std::function<void(EventResult)>;

  EventWriter(store::Database& db, const EventWriterOptions& options);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // `done` runs on the writer thread after the commit (or at once, on the
  // caller's thread, when writes are refused): post it to your executor.
  void submit(std::vector<rank::Event> events, Done done);
  // Applies what is queued, syncs, then ends the threads.
  void stop();
  // False once a sync failed (or a commit that may have lost one): events are
  // refused until the server restarts. A failed commit on a full disk, or with
  // every acknowledged commit synced, refuses only its own events; the next
  // ones are tried again.
  bool writable() const { return !failed_.load(std::memory_order_acquire); }
  // Whether the last commit failed (and none has succeeded since).
  bool commits_failing() const { return commits_failing_.load(std::memory_order_acquire); }
  // Commits, their durations and the requests not yet answered, for /metrics.
  WriterFigures figures() const;
  // How long the writer has been waiting for another process's write lock
  // (zero when it is not waiting).
  std::chrono::duration<double> lock_wait() const;

 private:
  struct Job {
    std::vector<rank::Event> events;
    Done done;
    std::chrono::steady_clock::time_point queued;
  };
  void run();
  void run_flusher();
  void flush();
  void apply(std::vector<Job>& jobs);
  void answer(Job& job, EventResult result);
  void fail(const std::string& what);
  // A commit the disk refused: logged (the first of a run of failures at
  // once, then at most every 10 s with the count), and cleared by the next
  // commit that succeeds. Writer thread only.
  void commit_failed(std::size_t requests, const std::string& what);
  void commit_succeeded();
  static EventResult unavailable();
  static EventResult not_stored();
  EventResult busy() const;

  store::Database& db_;
  EventWriterOptions options_;
  rank::RealtimeRanker ranker_;  // owned by the writer thread
  std::atomic<bool> dirty_{false};   // committed since the last sync
  std::atomic<bool> failed_{false};  // a sync failed: refuse writes for good
  std::atomic<bool> commits_failing_{false};  // set and cleared by the writer thread
  // Owned by the writer thread: the current run of failed commits.
  std::uint64_t failed_commits_ = 0;
  // For /metrics: written by the writer thread only (pending_: added to by
  // submit on any thread, taken from by the writer), read by any thread.
  std::atomic<std::uint64_t> commits_ok_{0};
  std::atomic<std::uint64_t> commits_failed_{0};
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<std::uint64_t> lock_timeouts_{0};  // requests answered 503 database_busy
  // When the writer began waiting for another process's write lock, in
  // steady-clock nanoseconds (0: not waiting). Written by the writer thread.
  std::atomic<std::int64_t> lock_wait_since_{0};
  LatencyHistogram commit_seconds_;
  std::chrono::steady_clock::time_point last_failure_log_{};
  std::mutex mutex_;                 // guards queue_ and stopping_
  std::condition_variable wake_;     // writer: a job was queued, or stop
  std::condition_variable stop_flusher_;  // flusher: stop only (its wake-ups are timed)
  std::deque<Job> queue_;
  bool stopping_ = false;
  bool writer_done_ = false;  // guarded by mutex_: the writer drained its queue
  std::thread thread_;
  std::thread flusher_;  // syncs off the writer thread, so commits never wait for it
};

}  // namespace recsys::http
