// The engine's snapshot of decoded Kubernetes objects (a dump or a live
// read): every rampartctl command, the benchmark and the aggregator build it
// the same way.
#pragma once

#include <cstdint>

#include "rampart/engine.h"
#include "rampart/k8s_objects.h"

namespace rampart::engine {

// Moves the objects into a snapshot evaluated at `now_unix`; the decoder's
// warnings and partial flag carry over to the report.
Snapshot snapshotOf(k8s::Objects objects, int64_t now_unix);

}  // namespace rampart::engine
