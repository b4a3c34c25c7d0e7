// A real Alertmanager (Debian prometheus-alertmanager) for integration tests
// and benchmarks, on 127.0.0.1 with its own storage directory.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "test_support.h"

namespace rampart::testing {

inline constexpr const char* kAlertmanagerBin = "/usr/bin/prometheus-alertmanager";

// Writes `config` to dir/alertmanager.yml (empty: the file is already there),
// starts Alertmanager on 127.0.0.1:port with a fresh storage directory (it
// keeps alerts in memory only: a restarted one knows only what is sent to it
// afterwards) and a log of its own under dir, and REQUIREs it ready.
std::unique_ptr<Process> startAlertmanager(const std::filesystem::path& dir, int port,
                                           const std::string& config = "");

}  // namespace rampart::testing
