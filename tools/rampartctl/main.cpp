// rampartctl: the operator's command line. Options parsing only; the commands
// live in commands.cpp.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"rampartctl: Rampart's command line"};
  app.require_subcommand(1);
  std::string server = "http://127.0.0.1:7401";
  bool json = false;

  auto* keygen = app.add_subcommand("keygen", "make a CURVE key pair: PREFIX.key and PREFIX.pub");
  std::string prefix;
  keygen->add_option("--out", prefix, "file name prefix")->required();

  auto* nodes = app.add_subcommand("nodes", "nodes as the aggregator sees them");
  nodes->add_option("--server", server, "aggregator HTTP URL");
  nodes->add_flag("--json", json, "print the API's JSON");

  auto* pods = app.add_subcommand("pods", "pods as the aggregator sees them");
  std::string node;
  pods->add_option("--server", server, "aggregator HTTP URL");
  pods->add_option("--node", node, "only this node's pods");
  pods->add_flag("--json", json, "print the API's JSON");

  auto* wait = app.add_subcommand("wait", "wait for a condition; prints elapsed milliseconds");
  std::string condition;
  int timeout_ms = 30000;
  wait->add_option("--server", server, "aggregator HTTP URL");
  wait->add_option("--for", condition,
                   "nodes=N | node-disconnected=NODE | pod-not-ready=NS/NAME | pod-gone=NS/NAME")
      ->required();
  wait->add_option("--timeout-ms", timeout_ms, "give up after this long");

  CLI11_PARSE(app, argc, argv);
  int rc = 0;
  if (*keygen) rc = rampart::ctl::keygen(prefix, std::cout, std::cerr);
  if (*nodes) rc = rampart::ctl::nodes(server, json, std::cout, std::cerr);
  if (*pods) rc = rampart::ctl::pods(server, node, json, std::cout, std::cerr);
  if (*wait) {
    rc = rampart::ctl::wait(server, condition, std::chrono::milliseconds(timeout_ms), std::cout,
                            std::cerr);
  }
  return rc;
}
