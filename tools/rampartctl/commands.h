// rampartctl subcommands as functions: each returns the process exit code and
// writes to the given streams. main.cpp only parses options.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "rampart/error.h"

namespace rampart::ctl {

// Writes PREFIX.key (key pair, 0600) and PREFIX.pub (public key only).
int keygen(const std::string& prefix, std::ostream& out, std::ostream& err);

// A table of the aggregator's nodes: zone, agent state, report age, pods,
// health. `server` is the aggregator's HTTP base URL.
int nodes(const std::string& server, bool json, std::ostream& out, std::ostream& err);

// Pods as the aggregator sees them, optionally of one node.
int pods(const std::string& server, const std::string& node, bool json, std::ostream& out,
         std::ostream& err);

// Waits until a condition holds on the aggregator, then prints the elapsed
// milliseconds. Conditions: nodes=N (N nodes connected and synced),
// node-disconnected=NODE, pod-not-ready=NS/NAME, pod-gone=NS/NAME.
int wait(const std::string& server, const std::string& condition, std::chrono::milliseconds timeout,
         std::ostream& out, std::ostream& err);

// Formatting helpers, exposed for tests.
std::string renderNodesTable(std::string_view nodes_json, Result<void>* error = nullptr);
std::string humanBytes(double bytes);

}  // namespace rampart::ctl
