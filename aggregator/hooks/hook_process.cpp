#include "hooks/hook_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rampart::aggregator {
namespace {

using Clock = std::chrono::steady_clock;

// Closes on destruction.
struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct SpawnAttrs {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttrs() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttrs() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
};

// Feeds the hook its stdin, collects its output and ends it on timeout or
// stop, until it exited and its output is drained; the wait status.
class Supervisor {
 public:
  Supervisor(const ProcessSpec& spec, const std::atomic<bool>& stop, pid_t pid, Fd& in, Fd& out,
             ProcessResult& result)
      : spec_(spec), stop_(stop), pid_(pid), in_(in), out_(out), result_(result) {}

  int run() {
    const auto deadline = Clock::now() + spec_.timeout;
    while (true) {
      const auto now = Clock::now();
      if (!reaped_) watch(now, deadline);
      if (reaped_ && (out_.fd < 0 || now >= drain_until_)) break;
      pump();
    }
    return status_;
  }

 private:
  static constexpr Clock::time_point kNever = Clock::time_point::max();

  void watch(Clock::time_point now, Clock::time_point deadline) {
    pid_t w = ::waitpid(pid_, &status_, WNOHANG);
    if (w == pid_) {
      reaped_ = true;
      // Whatever the hook left in its group goes with it.
      ::kill(-pid_, SIGKILL);
      drain_until_ = now + std::chrono::milliseconds(500);
      in_.reset();
    } else if (!terminated_ && now >= deadline) {
      result_.timed_out = true;
      terminate(now);
    } else if (!terminated_ && stop_.load()) {
      result_.stopped = true;
      terminate(now);
    } else if (now >= kill_at_) {
      ::kill(-pid_, SIGKILL);
      kill_at_ = kNever;
    }
  }

  void terminate(Clock::time_point now) {
    terminated_ = true;
    ::kill(-pid_, SIGTERM);
    kill_at_ = now + spec_.kill_grace;
  }

  void pump() {
    pollfd fds[2];
    nfds_t n = 0;
    if (out_.fd >= 0) fds[n++] = {out_.fd, POLLIN, 0};
    const bool writing = in_.fd >= 0;
    if (writing) fds[n++] = {in_.fd, POLLOUT, 0};
    ::poll(fds, n, 20);
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].fd == out_.fd && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        readOutput();
      } else if (writing && fds[i].fd == in_.fd && fds[i].revents != 0) {
        if (fds[i].revents & (POLLERR | POLLHUP)) {
          in_.reset();
          continue;
        }
        writeInput();
      }
    }
  }

  void readOutput() {
    while (true) {
      ssize_t got = ::read(out_.fd, buf_, sizeof buf_);
      if (got > 0) {
        result_.output_bytes += static_cast<size_t>(got);
        if (result_.output.size() < spec_.max_output) {
          result_.output.append(
              buf_, std::min(static_cast<size_t>(got), spec_.max_output - result_.output.size()));
        }
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EINTR)) out_.reset();
      break;
    }
  }

  void writeInput() {
    const std::string& data = spec_.stdin_data;
    ssize_t put =
        ::send(in_.fd, data.data() + written_, data.size() - written_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) written_ += static_cast<size_t>(put);
    if ((put < 0 && errno != EAGAIN && errno != EINTR) || written_ == data.size()) {
      in_.reset();  // EOF for the hook (or it stopped reading)
    }
  }

  const ProcessSpec& spec_;
  const std::atomic<bool>& stop_;
  const pid_t pid_;
  Fd& in_;
  Fd& out_;
  ProcessResult& result_;
  int status_ = 0;
  bool reaped_ = false;
  bool terminated_ = false;
  size_t written_ = 0;
  Clock::time_point kill_at_ = kNever;
  Clock::time_point drain_until_ = kNever;
  char buf_[16384];
};

std::string errnoText(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

std::string envSafe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\0') out += c;
  }
  return out;
}

ProcessResult runProcess(const ProcessSpec& spec, const std::atomic<bool>& stop) {
  ProcessResult result;
  if (spec.argv.empty()) {
    result.error = "empty argv";
    return result;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    result.error = errnoText("socketpair", errno);
    return result;
  }
  Fd in_parent{sv[0]}, in_child{sv[1]};
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    result.error = errnoText("pipe2", errno);
    return result;
  }
  Fd out_read{pipefd[0]}, out_write{pipefd[1]};

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  SpawnAttrs sa;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  // Own process group (pgid = pid) so that the timeout reaches grandchildren;
  // default dispositions and an empty mask whatever the aggregator blocks.
  posix_spawnattr_setflags(&sa.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  posix_spawnattr_setsigdefault(&sa.attr, &all);
  posix_spawn_file_actions_adddup2(&sa.actions, in_child.fd, 0);
  posix_spawn_file_actions_adddup2(&sa.actions, out_write.fd, 1);
  posix_spawn_file_actions_adddup2(&sa.actions, out_write.fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&sa.actions, 3);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp.data());
  if (rc != 0) {
    result.error = errnoText(("cannot run " + spec.argv[0]).c_str(), rc);
    return result;
  }
  result.started = true;
  result.pid = pid;
  in_child.reset();
  out_write.reset();
  ::fcntl(in_parent.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);

  if (spec.stdin_data.empty()) in_parent.reset();
  Supervisor supervisor{spec, stop, pid, in_parent, out_read, result};
  const int status = supervisor.run();
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace rampart::aggregator
