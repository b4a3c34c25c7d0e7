// Graceful shutdown on SIGTERM / SIGINT without async-signal-unsafe handlers:
// the signals are blocked in every thread and one thread waits for them.
// Construct in main() before any other thread starts.
#pragma once

#include <functional>
#include <thread>

namespace rampart {

class ShutdownSignals {
 public:
  // `on_signal` runs on the waiting thread, once, with the signal number.
  explicit ShutdownSignals(std::function<void(int)> on_signal);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

 private:
  std::thread thread_;
};

}  // namespace rampart
