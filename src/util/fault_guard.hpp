// A window in which a fault ends the process with one prepared line and exit
// status 1 instead of a core dump. LMDB trusts its pages: reading a damaged
// data file may dereference garbage (SIGSEGV), read past the file (SIGBUS) or
// stop at one of its assertions (abort: SIGABRT). The commands that read every
// page of a database it may be asked to rescue (backup's compacting copy,
// check's walk) hold a guard, so the user reads what happened and what to do.
// The handler only calls async-signal-safe functions: it may remove one file
// and one empty directory (a partial backup), write the line, and _exit(1).
// One guard at a time (the main thread's command); the handlers that were set
// before come back when it ends.
#pragma once

#include <string_view>

namespace recsys::util {

class FaultGuard {
 public:
  // `message`: the whole line, newline included. `remove_file`/`remove_dir`:
  // removed first when not empty (the directory only if it is empty by then).
  explicit FaultGuard(std::string_view message, std::string_view remove_file = {}, std::string_view remove_dir = {});
  ~FaultGuard();
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;
};

}  // namespace recsys::util
