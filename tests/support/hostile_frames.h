// Frames a hostile agent sends (docs/security.md): shared by the wire codec's
// unit tests and the aggregator's integration tests.
#pragma once

#include <cstdint>
#include <string>

namespace rampart::testing {

// A packed report whose pod list declares `pods` elements of zero words each
// (a reader takes a smaller struct than its schema's as an older sender's,
// every field at its default): a few dozen bytes whatever the count.
std::string declaredPodsFrame(uint32_t pods);

}  // namespace rampart::testing
