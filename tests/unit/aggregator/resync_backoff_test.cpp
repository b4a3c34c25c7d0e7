#include "state/resync_backoff.h"

#include <doctest/doctest.h>

using namespace rampart::aggregator;
using namespace std::chrono_literals;

TEST_CASE("resync asks back off per node until a full report is applied") {
  ResyncBackoff b(8s);
  CHECK(b.allow("a", 0));  // the first ask goes at once
  CHECK_FALSE(b.allow("a", 500));
  CHECK(b.allow("b", 500));  // per node
  CHECK(b.allow("a", 1000));
  CHECK_FALSE(b.allow("a", 2999));  // then 2 s
  CHECK(b.allow("a", 3000));
  CHECK_FALSE(b.allow("a", 6999));  // 4 s
  CHECK(b.allow("a", 7000));
  CHECK_FALSE(b.allow("a", 14999));  // 8 s, the max
  CHECK(b.allow("a", 15000));
  CHECK_FALSE(b.allow("a", 22999));  // stays at the max
  CHECK(b.allow("a", 23000));
  b.synced("a");
  CHECK(b.allow("a", 23001));  // applied: at once again
}

TEST_CASE("resync backoff stays bounded under many node names") {
  ResyncBackoff b(2s, 100);
  for (int i = 0; i < 1000; ++i) CHECK(b.allow("n" + std::to_string(i), 0));
  CHECK(b.tracked() == 100);
  // Past the longest delay the old names are pruned to make room.
  CHECK(b.allow("late", 10'000));
  CHECK(b.tracked() == 1);
}
