// The aggregator's HTTP API on 127.0.0.1 with a registry, metrics, model and
// latest report of its own, for tests that talk to it over HTTP.
#pragma once

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <memory>

#include "http/http_api.h"
#include "http/metrics.h"
#include "rampart/log.h"

namespace rampart::aggregator {

struct HttpApiFixture {
  prometheus::Registry registry;
  Metrics metrics{registry, "c1"};
  LiveModel model;
  LatestReport latest;
  Logger log;

  HttpApiFixture() {
    auto made = makeLogger("test", "text", "error");
    REQUIRE(made.has_value());
    log = *made;
  }

  // Not started; `port` 0 = any.
  std::unique_ptr<HttpApi> api(int port = 0) {
    HttpOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    return std::make_unique<HttpApi>(
        options, model, registry, metrics, latest, [] { return true; }, log);
  }
};

}  // namespace rampart::aggregator
