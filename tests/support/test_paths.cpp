#include "test_paths.h"

// The RAMPART_* definitions are this file's alone (tests/CMakeLists.txt).
namespace rampart::testing {

const char kSourceDir[] = RAMPART_SOURCE_DIR;
const char kTestDataDir[] = RAMPART_SOURCE_DIR "/tests/data";
const char kAgentBin[] = RAMPART_AGENT_BIN;
const char kAggregatorBin[] = RAMPART_AGGREGATOR_BIN;
const char kCtlBin[] = RAMPART_CTL_BIN;
const char kKubesimBin[] = RAMPART_KUBESIM_BIN;
const char kKubectlBin[] = RAMPART_KUBECTL;

}  // namespace rampart::testing
