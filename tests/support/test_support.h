// Helpers for tests that run real processes: spawn and signal processes,
// wait on conditions with deadlines, HTTP over loopback, temp directories.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rampart::testing {

using namespace std::chrono_literals;

// A fresh directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A child process; stdout and stderr go to `log_path`. Killed with SIGKILL
// (and reaped) on destruction if still running.
class Process {
 public:
  Process(std::vector<std::string> argv, std::filesystem::path log_path,
          const std::map<std::string, std::string>& extra_env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit up to `timeout`; the exit status (WEXITSTATUS, or 128+signal),
  // or nullopt when still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_path_;
};

// Polls `cond` every 20 ms until it holds or `timeout` passes.
bool waitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Reads a ready file of `key=value` lines written by a server once bound;
// waits up to `timeout` for it to contain `key`.
std::optional<std::map<std::string, std::string>> readReadyFile(const std::filesystem::path& path,
                                                                const std::string& key,
                                                                std::chrono::milliseconds timeout);

struct HttpResponse {
  long status = 0;  // 0 when the request failed
  std::string body;
  std::string error;
};
HttpResponse httpGet(const std::string& url, std::chrono::milliseconds timeout = 5s);
HttpResponse httpRequest(const std::string& method, const std::string& url, const std::string& body,
                         std::chrono::milliseconds timeout = 5s,
                         const std::string& content_type = "application/json");

// A loopback TCP port the kernel just handed out and this process released:
// free with high probability, for servers that take a fixed address
// (Alertmanager, Prometheus, etcd, the agent's health endpoint).
int freeLoopbackPort();

std::string readFile(const std::filesystem::path& path);
std::filesystem::path testData(const std::string& relative);

// Runs a command to completion, capturing stdout+stderr; exit code or -1.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = 30s);

}  // namespace rampart::testing
