#include "hooks/hook_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
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

// In the forked child, before execve: async-signal-safe calls only. Never
// returns: execs, or writes errno to `err_fd` and exits 127.
[[noreturn]] void execChild(pid_t parent, int in_fd, int out_fd, int err_fd, char* const argv[],
                            char* const envp[]) {
  auto fail = [&] {
    const int e = errno;
    (void)::write(err_fd, &e, sizeof e);
    ::_exit(127);
  };
  // Own process group (pgid = pid) so that the timeout reaches grandchildren.
  if (::setpgid(0, 0) != 0) fail();
  // Dies with the aggregator, even SIGKILLed. PDEATHSIG follows the forking
  // *thread*: the hook's worker thread lives until the hook is reaped. The
  // parent may have died before the prctl: then exit at once.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (::getppid() != parent) ::_exit(127);
  // Default dispositions and an empty mask whatever the aggregator set.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) (void)::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail();
  auto place = [&](int from, int to) {
    if (from == to) {
      if (::fcntl(to, F_SETFD, 0) != 0) fail();  // keep it across exec
    } else if (::dup2(from, to) < 0) {
      fail();
    }
  };
  place(in_fd, 0);
  place(out_fd, 1);
  place(out_fd, 2);
  // No descriptor of the aggregator but 0-2 (err_fd is close-on-exec).
  if (err_fd > 3) ::close_range(3, static_cast<unsigned>(err_fd) - 1, 0);
  ::close_range(static_cast<unsigned>(err_fd) + 1, ~0U, 0);
  ::execve(argv[0], argv, envp);
  fail();
}

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
      terminate(now, spec_.kill_grace);
    } else if (!terminated_ && stop_.load()) {
      result_.stopped = true;
      // The aggregator is stopping: it must exit within seconds.
      terminate(now, std::min(spec_.kill_grace, spec_.stop_grace));
    } else if (now >= kill_at_) {
      ::kill(-pid_, SIGKILL);
      kill_at_ = kNever;
    }
  }

  void terminate(Clock::time_point now, std::chrono::milliseconds grace) {
    terminated_ = true;
    ::kill(-pid_, SIGTERM);
    kill_at_ = now + grace;
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

  // fork+exec rather than posix_spawn: the child must set PR_SET_PDEATHSIG.
  // The exec's failure comes back through a close-on-exec pipe (EOF: it ran).
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) {
    result.error = errnoText("pipe2", errno);
    return result;
  }
  Fd err_read{errpipe[0]}, err_write{errpipe[1]};
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = errnoText(("cannot run " + spec.argv[0]).c_str(), errno);
    return result;
  }
  if (pid == 0)
    execChild(parent, in_child.fd, out_write.fd, err_write.fd, argv.data(), envp.data());
  err_write.reset();
  int child_errno = 0;
  ssize_t got = 0;
  do {
    got = ::read(err_read.fd, &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    int ignored = 0;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
    result.error = errnoText(("cannot run " + spec.argv[0]).c_str(), child_errno);
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
