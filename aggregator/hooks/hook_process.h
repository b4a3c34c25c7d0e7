// Runs one hook process to completion: fork+exec in its own process group,
// a given environment (nothing inherited), data on stdin, stdout+stderr
// captured (bounded), a timeout that kills the whole group, and
// PR_SET_PDEATHSIG so that the hook dies with the aggregator (even SIGKILLed).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace rampart::aggregator {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path (no PATH search, no shell)
  std::vector<std::string> env;   // "NAME=value", the whole environment
  std::string stdin_data;         // written to the process's stdin, then EOF
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM -> SIGKILL
  // SIGTERM -> SIGKILL when `stop` is raised (the aggregator stopping), if
  // shorter than kill_grace: the aggregator must exit within 10 s.
  std::chrono::milliseconds stop_grace{2000};
  size_t max_output = size_t{64} << 10;  // bytes of stdout+stderr kept
};

struct ProcessResult {
  bool started = false;
  std::string error;  // why it did not start
  int pid = -1;
  std::optional<int> exit_code;  // set when it exited
  std::optional<int> signal;     // set when a signal ended it
  bool timed_out = false;        // the timeout passed; the group got SIGTERM (then SIGKILL)
  bool stopped = false;          // `stop` was raised; the group was terminated likewise
  std::string output;            // stdout and stderr interleaved, at most max_output bytes
  size_t output_bytes = 0;       // bytes produced in all
};

// Blocks until the process has exited and been reaped. When the process
// itself ends, whatever else is left in its process group gets SIGKILL (a
// hook must not leave processes behind). When `stop` becomes true the group
// is terminated as at the timeout, with stop_grace. The process gets SIGKILL
// when the calling thread exits (PR_SET_PDEATHSIG follows the thread that
// forked): call it from a thread that lives until it returns, as every
// caller does since it blocks. When the aggregator dies, only the hook's own
// process gets that signal, not what it started in its group. Thread-safe (no shared state); the
// caller's SIGPIPE is never raised (stdin is a socket written with
// MSG_NOSIGNAL).
ProcessResult runProcess(const ProcessSpec& spec, const std::atomic<bool>& stop);

// A NUL-free copy of `value` (environment strings cannot hold NUL).
std::string envSafe(std::string_view value);

}  // namespace rampart::aggregator
