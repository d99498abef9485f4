#include "http/event_writer.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <system_error>

#include "http/response.hpp"
#include "util/log.hpp"

namespace recsys::http {

EventWriter::EventWriter(store::Database& db, const EventWriterOptions& options) : db_(db), options_(options) {
  if (!options_.sync_every_commit) {
    store::check("mdb_env_set_flags", mdb_env_set_flags(db_.env().handle(), MDB_NOMETASYNC, 1));
  }
  // A thread the system will not start (its stack under an address-space
  // limit): the one already started is stopped and joined. Left joinable in a
  // constructor that throws, it made std::terminate abort the process.
  try {
    thread_ = std::thread([this] { run(); });
    flusher_ = std::thread([this] { run_flusher(); });
  } catch (const std::system_error& e) {
    stop();
    throw std::runtime_error(fmt::format("cannot start the events writer's threads: {} (raise the process's limits)",
                                         e.what()));
  }
}

EventWriter::~EventWriter() { stop(); }

EventResult EventWriter::unavailable() {
  Response r;
  set_error(r, 503, "unavailable",
            "events are not accepted: storing them failed (see the server log); reads still work");
  return EventResult{503, r.body};
}

EventResult EventWriter::not_stored() {
  Response r;
  set_error(r, 503, "unavailable",
            "storing the events failed (see the server log): nothing of them was stored; retry later; reads still work");
  return EventResult{503, r.body};
}

void EventWriter::submit(std::vector<rank::Event> events, Done done) {
  if (!writable()) return done(unavailable());
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Job{std::move(events), std::move(done), std::chrono::steady_clock::now()});
    pending_.fetch_add(1, std::memory_order_relaxed);
  }
  wake_.notify_one();
}

EventResult EventWriter::busy() const {
  Response r;
  set_error(r, 503, "database_busy",
            fmt::format("waited {} s while another process wrote to the database (an import, a train or a precompute; "
                        "serve's --event-timeout): nothing of these events was stored; retry later",
                        std::chrono::duration_cast<std::chrono::seconds>(options_.lock_timeout).count()));
  return EventResult{503, r.body};
}

std::chrono::duration<double> EventWriter::lock_wait() const {
  const auto since = lock_wait_since_.load(std::memory_order_relaxed);
  if (since == 0) return std::chrono::duration<double>(0);
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  return std::max(std::chrono::duration<double>(0),
                  std::chrono::duration<double>(now - std::chrono::steady_clock::duration(since)));
}

WriterFigures EventWriter::figures() const {
  WriterFigures out;
  out.commits_ok = commits_ok_.load(std::memory_order_relaxed);
  out.commits_failed = commits_failed_.load(std::memory_order_relaxed);
  out.pending_requests = pending_.load(std::memory_order_relaxed);
  out.commit_seconds = &commit_seconds_;
  out.lock_wait_seconds = lock_wait().count();
  out.lock_timeouts = lock_timeouts_.load(std::memory_order_relaxed);
  return out;
}

void EventWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  stop_flusher_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (flusher_.joinable()) flusher_.join();
}

void EventWriter::run() {
  try {
    std::vector<Job> jobs;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) break;  // stopping, nothing left
        jobs.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
        queue_.clear();
      }
      apply(jobs);
      jobs.clear();
    }
  } catch (const std::exception& e) {
    log::exit_on_thread_error("events writer", e.what());
  }
  {
    std::lock_guard lock(mutex_);
    writer_done_ = true;
  }
  stop_flusher_.notify_all();
}

// Every flush interval, on a clock of its own (submits do not wake it): make
// the last commits' meta page durable; now and then free stale reader slots.
void EventWriter::run_flusher() {
  try {
    auto next_flush = std::chrono::steady_clock::now() + options_.flush_interval;
    auto next_check = std::chrono::steady_clock::now() + options_.reader_check_interval;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      stop_flusher_.wait_until(lock, next_flush, [&] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      auto now = std::chrono::steady_clock::now();
      next_flush = now + options_.flush_interval;
      flush();
      if (now >= next_check) {
        next_check = now + options_.reader_check_interval;
        if (int freed = db_.clear_stale_readers(); freed > 0) {
          log::info("freed {} reader slot(s) left by processes that died", freed);
        }
      }
      lock.lock();
    }
    // The writer drains its queue first; its last commit is synced here.
    stop_flusher_.wait(lock, [&] { return writer_done_; });
    lock.unlock();
    flush();
  } catch (const std::exception& e) {
    log::exit_on_thread_error("events flusher", e.what());
  }
}

void EventWriter::flush() {
  if (!dirty_.exchange(false)) return;
  try {
    db_.env().sync(true);
  } catch (const std::exception& e) {
    fail(fmt::format("syncing the database to disk failed: {}", e.what()));
  }
}

void EventWriter::fail(const std::string& what) {
  if (!failed_.exchange(true, std::memory_order_acq_rel)) {
    log::error("events: {}; refusing further events until the server is restarted", what);
  }
}

void EventWriter::commit_failed(std::size_t requests, const std::string& what) {
  commits_failing_.store(true, std::memory_order_release);
  ++failed_commits_;
  const auto now = std::chrono::steady_clock::now();
  if (failed_commits_ == 1 || now - last_failure_log_ >= std::chrono::seconds(10)) {
    log::error("events: committing {} request(s) failed: {} (answered 503; {} failed commit(s) in a row, the next "
               "events are tried again)",
               requests, what, failed_commits_);
    last_failure_log_ = now;
  }
}

void EventWriter::commit_succeeded() {
  if (failed_commits_ == 0) return;
  log::info("events: storing works again after {} failed commit(s)", failed_commits_);
  failed_commits_ = 0;
  commits_failing_.store(false, std::memory_order_release);
}

void EventWriter::answer(Job& job, EventResult result) {
  pending_.fetch_sub(1, std::memory_order_relaxed);
  job.done(std::move(result));
}

void EventWriter::apply(std::vector<Job>& jobs) {
  // Every job is answered once, through answer(): the figures are updated
  // before its done runs, so a client that reads /metrics after its answer
  // finds them settled.
  if (!writable()) {
    lock_wait_since_.store(0, std::memory_order_relaxed);
    for (auto& job : jobs) answer(job, unavailable());
    return;
  }
  auto ok = [](const Job& job) {
    return EventResult{200, fmt::format("{{\"accepted\":{}}}", job.events.size())};
  };
  // The oldest request's time decides how long this group waits for another
  // process's write lock; the wait shows in lock_wait() (/metrics, /readyz).
  auto deadline = jobs.front().queued;
  for (const auto& job : jobs) deadline = std::min(deadline, job.queued);
  deadline += options_.lock_timeout;
  auto keep_waiting = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (lock_wait_since_.load(std::memory_order_relaxed) == 0) {
      lock_wait_since_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    return now < deadline;
  };
  // The wait ends with the lock taken or the group answered; a group given up
  // on with more requests queued leaves the time, so lock_wait() spans the
  // whole stall rather than one group's part of it.
  struct WaitEnd {
    std::atomic<std::int64_t>& since;
    bool keep = false;
    ~WaitEnd() {
      if (!keep) since.store(0, std::memory_order_relaxed);
    }
  } wait_end{lock_wait_since_};
  try {
    auto started = std::chrono::steady_clock::now();
    db_.write(
        [&](store::Txn& txn) {
          lock_wait_since_.store(0, std::memory_order_relaxed);
          started = std::chrono::steady_clock::now();
          for (const auto& job : jobs) ranker_.apply(db_, txn, job.events);
        },
        keep_waiting);
    if (!options_.sync_every_commit) dirty_ = true;
    commit_seconds_.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    bump(commits_ok_);
    commit_succeeded();
    for (auto& job : jobs) answer(job, ok(job));
    return;
  } catch (const store::LockWaitAbandoned& e) {
    log::warn("events: {} request(s) answered 503 after waiting {} s for the database's write lock: {}", jobs.size(),
              std::chrono::duration_cast<std::chrono::seconds>(options_.lock_timeout).count(), e.what());
    bool more = false;
    {
      std::lock_guard lock(mutex_);
      more = !queue_.empty();
    }
    if (!more) lock_wait_since_.store(0, std::memory_order_relaxed);
    wait_end.keep = true;  // settled here, before the answers
    bump(lock_timeouts_, jobs.size());
    for (auto& job : jobs) answer(job, busy());
    return;
  } catch (const store::CommitError& e) {
    bump(commits_failed_);
    // The disk refused the commit: LMDB aborted the transaction and nothing of
    // it was stored. Whether the events before it are safe depends on what
    // failed, which the error code does not tell (LMDB reports a short page
    // write and a failed fdatasync both as EIO). Under MDB_NOMETASYNC the
    // fdatasync inside a commit is also the first sync of the previous
    // commit's meta page, already acknowledged: after a failed fsync the
    // kernel may drop that page, so events are then refused for good. It is
    // transient (the next events are tried again) only when no acknowledged
    // commit awaits a sync (every meta page synced: sync_every_commit, or the
    // flusher ran since), or when the disk is full or the file at its size
    // limit: then the commit failed writing its new pages, and the meta page,
    // rewritten in place on blocks it already has, needed no space.
    const bool unsynced = !options_.sync_every_commit && dirty_.load();
    if (unsynced && !db_.out_of_space()) {
      fail(fmt::format("committing {} request(s) failed while the previous commit awaited its sync: {}", jobs.size(),
                       e.what()));
      for (auto& job : jobs) answer(job, unavailable());
      return;
    }
    commit_failed(jobs.size(), e.what());
    for (auto& job : jobs) answer(job, not_stored());
    return;
  } catch (const std::exception& e) {
    bump(commits_failed_);
    if (const auto* lmdb = dynamic_cast<const store::LmdbError*>(&e); lmdb && lmdb->code() == MDB_PANIC) {
      // LMDB refuses every transaction from now on, reads included: only a
      // restart (by the service manager) serves again.
      log::exit_on_thread_error("events writer", fmt::format("the database environment is broken after a failed "
                                                             "write: {}",
                                                             e.what()));
    }
    if (jobs.size() == 1) {
      log::error("events: {}", e.what());
      Response r;
      set_error(r, 500, "internal", std::string("could not store the events: ") + e.what());
      answer(jobs[0], EventResult{500, r.body});
      return;
    }
  }
  // One job failed the group: apply each on its own so the others still land
  // (each answered there; the wait's time is theirs to clear).
  wait_end.keep = true;
  for (auto& job : jobs) {
    std::vector<Job> one;
    one.push_back(std::move(job));
    apply(one);
  }
}

}  // namespace recsys::http
