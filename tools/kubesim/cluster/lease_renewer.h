// The kubelets' renewal loop: one thread that calls Cluster::renewLeases()
// every period, as each kubelet renews its node Lease (default every 10 s).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/logger.h>

#include "cluster/cluster.h"

namespace rampart::kubesim {

class LeaseRenewer {
 public:
  // Starts the thread; `period` must be positive. `cluster` must outlive this
  // object. `logger` may be null; with it each round is logged at debug level
  // (Leases written, time under the lock).
  LeaseRenewer(Cluster& cluster, std::chrono::milliseconds period,
               std::shared_ptr<spdlog::logger> logger);
  // Stops and joins the thread (at most one round in progress is finished).
  ~LeaseRenewer();
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

  void stop();
  size_t rounds() const;  // rounds completed

 private:
  void run();

  Cluster& cluster_;
  const std::chrono::milliseconds period_;
  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  size_t rounds_ = 0;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace rampart::kubesim
