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

  size_t written = 0;
  if (spec.stdin_data.empty()) in_parent.reset();
  const auto start = Clock::now();
  const auto deadline = start + spec.timeout;
  std::optional<Clock::time_point> kill_at;
  bool terminated = false;
  int status = 0;
  bool reaped = false;
  std::optional<Clock::time_point> drain_until;
  char buf[16384];

  auto terminate = [&] {
    terminated = true;
    ::kill(-pid, SIGTERM);
    kill_at = Clock::now() + spec.kill_grace;
  };

  while (true) {
    const auto now = Clock::now();
    if (!reaped) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        reaped = true;
        // Whatever the hook left in its group goes with it.
        ::kill(-pid, SIGKILL);
        drain_until = now + std::chrono::milliseconds(500);
        in_parent.reset();
      } else if (!terminated && now >= deadline) {
        result.timed_out = true;
        terminate();
      } else if (!terminated && stop.load()) {
        result.stopped = true;
        terminate();
      } else if (kill_at && now >= *kill_at) {
        ::kill(-pid, SIGKILL);
        kill_at.reset();
      }
    }
    if (reaped && (out_read.fd < 0 || now >= *drain_until)) break;

    pollfd fds[2];
    nfds_t n = 0;
    if (out_read.fd >= 0) fds[n++] = {out_read.fd, POLLIN, 0};
    const bool writing = in_parent.fd >= 0;
    if (writing) fds[n++] = {in_parent.fd, POLLOUT, 0};
    ::poll(fds, n, 20);
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].fd == out_read.fd && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        while (true) {
          ssize_t got = ::read(out_read.fd, buf, sizeof buf);
          if (got > 0) {
            result.output_bytes += static_cast<size_t>(got);
            if (result.output.size() < spec.max_output) {
              result.output.append(
                  buf, std::min(static_cast<size_t>(got), spec.max_output - result.output.size()));
            }
            continue;
          }
          if (got == 0 || (errno != EAGAIN && errno != EINTR)) out_read.reset();
          break;
        }
      } else if (writing && fds[i].fd == in_parent.fd && fds[i].revents != 0) {
        if (fds[i].revents & (POLLERR | POLLHUP)) {
          in_parent.reset();
          continue;
        }
        ssize_t put = ::send(in_parent.fd, spec.stdin_data.data() + written,
                             spec.stdin_data.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (put > 0) written += static_cast<size_t>(put);
        if ((put < 0 && errno != EAGAIN && errno != EINTR) || written == spec.stdin_data.size()) {
          in_parent.reset();  // EOF for the hook (or it stopped reading)
        }
      }
    }
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace rampart::aggregator
