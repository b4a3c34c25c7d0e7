// Keeps the set of pods on one node current: list, then watch, on the API
// server with fieldSelector=spec.nodeName=NODE; also fetches the Node object.
//
// Runs its own thread (the only thread that talks to the API server). The
// agent's main loop drains changes with drainChanges(); `on_change` is called
// (from the watcher thread, without locks held) whenever a change is pending.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rampart/kube_client.h"
#include "rampart/log.h"
#include "rampart/model.h"

namespace rampart::agent {

struct PodChanges {
  std::vector<Pod> upserted;
  std::vector<std::string> removed_uids;
  bool empty() const { return upserted.empty() && removed_uids.empty(); }
};

// Where the agent's pods and node come from; PodWatcher in production.
class PodSource {
 public:
  virtual ~PodSource() = default;
  // Every pod currently on the node, ordered by uid.
  virtual std::vector<Pod> snapshot() const = 0;
  // Changes since the previous drain (pods in their latest state).
  virtual PodChanges drainChanges() = 0;
  virtual std::optional<Node> node() const = 0;
  // Bumped whenever the node's labels, taints, zone or region change (what
  // the agent's placement checks read); lets a caller skip copying node().
  virtual uint64_t nodeVersion() const { return 0; }
  // False until the first list of the node's pods succeeded: before that an
  // empty snapshot() means "not known", not "no pods".
  virtual bool podsKnown() const { return true; }
};

struct PodWatcherOptions {
  std::string node_name;
  // Server-side watch window (timeoutSeconds); the node object is refreshed
  // between windows.
  std::chrono::seconds watch_window{300};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds request_timeout{15000};
};

struct PodWatcherStats {
  uint64_t lists = 0;
  uint64_t watches = 0;
  uint64_t relists_gone = 0;  // 410 Expired / Gone
  uint64_t errors = 0;        // failed requests and undecodable responses
  uint64_t events = 0;        // watch events applied
  bool synced = false;        // a list has succeeded and no relist is pending
};

class PodWatcher : public PodSource {
 public:
  PodWatcher(KubeCredentials creds, PodWatcherOptions options, Logger log,
             std::function<void()> on_change);
  ~PodWatcher() override;
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  void start();
  void stop();

  std::vector<Pod> snapshot() const override;
  PodChanges drainChanges() override;
  std::optional<Node> node() const override;
  uint64_t nodeVersion() const override;
  bool podsKnown() const override;
  PodWatcherStats stats() const;

 private:
  void run();
  bool listPods(KubeClient& client);
  bool watchPods(KubeClient& client);
  void refreshNode(KubeClient& client);
  void upsert(Pod pod);
  void remove(const std::string& uid);
  void backoff();
  void warn(const std::string& key, const std::string& message);

  KubeCredentials creds_;
  PodWatcherOptions options_;
  Logger log_;
  std::function<void()> on_change_;
  RateLimiter limiter_;

  mutable std::mutex mu_;
  std::map<std::string, Pod> pods_;  // by uid
  std::set<std::string> changed_;    // uids upserted since the last drain
  std::set<std::string> removed_;    // uids removed since the last drain
  std::optional<Node> node_;
  uint64_t node_version_ = 0;
  PodWatcherStats stats_;
  std::string resource_version_;  // watcher thread only

  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::chrono::milliseconds current_backoff_{0};
  std::thread thread_;
};

}  // namespace rampart::agent
