// Scoring building blocks (docs/scoring.md), exposed for the explanation
// renderer and the tests.
#pragma once

#include <cstdint>
#include <vector>

#include "rampart/engine.h"

namespace rampart::engine {

// Base points a finding of this severity costs the scope it counts against:
// critical 40, high 20, medium 8, low 3, info 0.
double severityPoints(Severity s);

// Blast-radius weight of a workload in the namespace and cluster means:
// 1 + log2(replicas), so 1 replica weighs 1, 4 weigh 3 and 100 weigh 7.6.
double workloadWeight(int32_t replicas);

// Splits `total` hundredths over `parts` in proportion, exactly (largest
// remainder; ties to the earlier part). All zeros when the parts sum to 0.
std::vector<Centi> apportion(const std::vector<double>& parts, Centi total);

}  // namespace rampart::engine
