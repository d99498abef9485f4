// A window in which a fault ends the process with one prepared line and exit
// status 1 instead of a core dump. LMDB trusts its pages: reading a damaged
// data file may dereference garbage (SIGSEGV), read past the file (SIGBUS) or
// stop at one of its assertions (abort: SIGABRT). The commands that read every
// page of a database it may be asked to rescue (backup's compacting copy,
// check's walk) hold a guard, so the user reads what happened and what to do.
// With an interrupt message, SIGINT, SIGTERM and SIGHUP (unless ignored) also
// write that line, then end the process by the signal's default action (exit
// status 130 / 143 / 129). Either way the handler first removes the file and
// the empty directory given to removes() once armed: a backup stopped with
// Ctrl-C leaves no partial copy behind. Arm each just BEFORE the call that
// creates it (and disarm when that call fails): a signal is handled on the
// return from a system call, so one that came while open() or mkdir() ran
// finds the entry made and, armed after the call, not armed yet (a test
// stopping the backup the moment its file appeared met that one time in ten).
// The handlers only call async-signal-safe functions (unlink, rmdir, write,
// _exit, signal, raise). One guard at a time (the main thread's command); the
// handlers that were set before come back when it ends.
#pragma once

#include <string_view>

namespace recsys::util {

class FaultGuard {
 public:
  // `message`: the whole line, newline included; `interrupt_message` likewise
  // (said when an armed file was removed; else "recsys: interrupted"), or
  // empty to leave SIGINT/SIGTERM/SIGHUP alone.
  explicit FaultGuard(std::string_view message, std::string_view interrupt_message = {});
  ~FaultGuard();
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;

  // The file and the directory (removed only if empty by then) a fault or an
  // interrupt removes once armed; see above for when to arm them.
  void removes(std::string_view file, std::string_view dir);
  void arm_file(bool armed = true);
  void arm_dir(bool armed = true);
};

}  // namespace recsys::util
