// A simulated cluster for integration tests and the latency benchmark: a real
// kubesim serving a scenario, the real aggregator (with its kubeconfig) and
// real agents, each a child process logging into a temp directory. Failures
// to start are doctest REQUIRE failures carrying the logs.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rampart/curve.h"
#include "test_support.h"

namespace rampart::testing {

struct SimClusterOptions {
  std::string scenario = "small.yaml";  // under tools/kubesim/scenarios/, or an absolute path
  // How long kubesim and the aggregator may take to be ready (a big generated
  // scenario takes longer to build).
  std::chrono::milliseconds start_timeout{20000};
  std::vector<std::string> kubesim_args;
  std::vector<std::string> agents;      // node names; an agent each
  std::vector<std::string> agent_args;  // extra agent flags
  int agent_interval_ms = 1000;
  // --missed-heartbeats: this many intervals of silence and an agent is
  // disconnected. 10 (2 s at 200 ms) leaves room for a loaded machine, where
  // 3 (the production default, 600 ms at 200 ms) let a stalled agent of a node
  // nobody touched look silent; the latency benchmark measures with 3.
  int missed_heartbeats = 10;
  std::vector<std::string> aggregator_args;  // extra aggregator flags
  bool aggregator_kubeconfig = true;         // give the aggregator API access
  std::string cluster = "it";                // --cluster
};

class SimCluster {
 public:
  explicit SimCluster(SimClusterOptions options);
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;

  // (Re)starts the aggregator on `ingest_endpoint` ("" = any port; the agents
  // need the same one after a restart) with the database in dir; `run` names
  // its log and ready file.
  void startAggregator(const std::string& ingest_endpoint, const std::string& run);
  void startAgent(const std::string& node);
  // With flags of its own, after SimClusterOptions::agent_args.
  void startAgent(const std::string& node, const std::vector<std::string>& extra);

  nlohmann::json get(const std::string& url) const;  // null unless 200 with JSON
  // A sample of the aggregator's /metrics: `name{labels}` exactly; -1 when absent.
  double metric(const std::string& name, const std::string& labels) const;
  // POST /_kubesim/faults; the answer's JSON (null on failure).
  nlohmann::json fault(const nlohmann::json& fault) const;
  // The aggregator's current findings (/api/v1/findings), [] before a report.
  nlohmann::json findings(const std::string& check_prefix = "") const;
  // Every process's log, for failure messages.
  std::string logs() const;

  SimClusterOptions options;
  TempDir dir;
  CurveKeyPair server_keys, agent_keys;
  std::unique_ptr<Process> kubesim, aggregator;
  std::map<std::string, std::unique_ptr<Process>> agents;
  std::string api;     // kubesim URL
  std::string http;    // aggregator HTTP base URL
  std::string ingest;  // aggregator ingest endpoint
};

}  // namespace rampart::testing
