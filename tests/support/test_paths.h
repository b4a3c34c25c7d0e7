// Where the checkout, the test data and the built binaries are: absolute
// paths, fixed at configure time.
//
// They are compiled into test_paths.cpp alone (its own library,
// rampart_test_paths), never onto other test files' command lines: a clone at
// another path then reuses ccache's objects for every test file but this one
// (docs/testing.md, "Build speed").
#pragma once

namespace rampart::testing {

extern const char kSourceDir[];      // the checkout
extern const char kTestDataDir[];    // tests/data
extern const char kAgentBin[];       // rampart-agent
extern const char kAggregatorBin[];  // rampart-aggregator
extern const char kCtlBin[];         // rampartctl
extern const char kKubesimBin[];     // kubesim
extern const char kKubectlBin[];     // kubectl found at configure time, or "...-NOTFOUND"

}  // namespace rampart::testing
