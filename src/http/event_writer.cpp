#include "http/event_writer.hpp"

#include <chrono>

#include <fmt/format.h>

#include "http/response.hpp"
#include "util/log.hpp"

namespace recsys::http {

namespace {
constexpr auto kFlushInterval = std::chrono::seconds(1);
}

EventWriter::EventWriter(store::Database& db, bool sync_every_commit)
    : db_(db), sync_every_commit_(sync_every_commit) {
  if (!sync_every_commit_) store::check("mdb_env_set_flags", mdb_env_set_flags(db_.env().handle(), MDB_NOSYNC, 1));
  thread_ = std::thread([this] { run(); });
  if (!sync_every_commit_) flusher_ = std::thread([this] { run_flusher(); });
}

EventWriter::~EventWriter() { stop(); }

void EventWriter::submit(std::vector<rank::Event> events, Done done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Job{std::move(events), std::move(done)});
  }
  wake_.notify_all();
}

void EventWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();  // joins the writer, then flushes
  if (thread_.joinable()) thread_.join();
}

void EventWriter::run() {
  std::vector<Job> jobs;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      jobs.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    apply(jobs);
    jobs.clear();
  }
}

void EventWriter::run_flusher() {
  auto flush = [&] {
    if (!dirty_.exchange(false)) return;
    try {
      db_.env().sync(true);
    } catch (const std::exception& e) {
      log::error("events: flushing the database to disk failed: {}", e.what());
    }
  };
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kFlushInterval);
    lock.unlock();
    flush();
    lock.lock();
  }
  lock.unlock();
  if (thread_.joinable()) thread_.join();  // the writer drains its queue first
  flush();
}

void EventWriter::apply(std::vector<Job>& jobs) {
  auto ok = [](const Job& job) {
    return EventResult{200, fmt::format("{{\"accepted\":{}}}", job.events.size())};
  };
  try {
    db_.write([&](store::Txn& txn) {
      for (const auto& job : jobs) ranker_.apply(db_, txn, job.events);
    });
    dirty_ = !sync_every_commit_;
    for (auto& job : jobs) job.done(ok(job));
    return;
  } catch (const std::exception& e) {
    if (jobs.size() == 1) {
      log::error("events: {}", e.what());
      Response r;
      set_error(r, 500, "internal", std::string("could not store the events: ") + e.what());
      jobs[0].done(EventResult{500, r.body});
      return;
    }
  }
  // One job failed the group: apply each on its own so the others still land.
  for (auto& job : jobs) {
    std::vector<Job> one;
    one.push_back(std::move(job));
    apply(one);
  }
}

}  // namespace recsys::http
