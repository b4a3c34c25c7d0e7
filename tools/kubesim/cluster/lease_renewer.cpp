#include "cluster/lease_renewer.h"

namespace rampart::kubesim {

LeaseRenewer::LeaseRenewer(Cluster& cluster, std::chrono::milliseconds period,
                           std::shared_ptr<spdlog::logger> logger)
    : cluster_(cluster), period_(period), logger_(std::move(logger)), thread_([this] { run(); }) {}

LeaseRenewer::~LeaseRenewer() {
  stop();
}

void LeaseRenewer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t LeaseRenewer::rounds() const {
  std::lock_guard lock(mu_);
  return rounds_;
}

void LeaseRenewer::run() {
  auto next = std::chrono::steady_clock::now() + period_;
  std::unique_lock lock(mu_);
  while (!cv_.wait_until(lock, next, [this] { return stop_; })) {
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    const size_t renewed = cluster_.renewLeases();
    const auto took = std::chrono::steady_clock::now() - start;
    if (logger_) {
      logger_->debug("renewed {} node leases in {:.1f} ms", renewed,
                     std::chrono::duration<double, std::milli>(took).count());
    }
    lock.lock();
    ++rounds_;
    // Rounds missed while one overran are skipped, not made up in a burst.
    next = std::max(next + period_, std::chrono::steady_clock::now());
  }
}

}  // namespace rampart::kubesim
