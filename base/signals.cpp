#include "rampart/signals.h"

#include <pthread.h>
#include <signal.h>

namespace rampart {

ShutdownSignals::ShutdownSignals(std::function<void(int)> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // our own wake-up for destruction
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer closing a socket must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  thread_ = std::thread([set, cb = std::move(on_signal)] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGUSR2) cb(sig);
  });
}

ShutdownSignals::~ShutdownSignals() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace rampart
