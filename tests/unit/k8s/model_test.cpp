#include <doctest/doctest.h>

#include "rampart/model.h"

using namespace rampart;

TEST_CASE("sameExceptResourceVersion ignores only resourceVersion and leaves the pod as it was") {
  Pod known;
  known.uid = "u1";
  known.resource_version = "10";
  known.ready = true;
  Pod incoming = known;
  incoming.resource_version = "11";
  CHECK(sameExceptResourceVersion(known, incoming));
  CHECK(incoming.resource_version == "11");
  incoming.ready = false;
  CHECK_FALSE(sameExceptResourceVersion(known, incoming));
  CHECK(incoming.resource_version == "11");
  Pod same = known;
  CHECK(sameExceptResourceVersion(known, same));
}
