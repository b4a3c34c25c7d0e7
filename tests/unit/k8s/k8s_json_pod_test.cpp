#include <doctest/doctest.h>

#include "rampart/k8s_json.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::k8s;
using rampart::testing::readFile;
using rampart::testing::testData;

TEST_CASE("smoke") {
  auto r = decodePodList(readFile(testData("k8s/apiserver-pods_kube-system_eks-v1.31.json")));
  REQUIRE_MESSAGE(r.has_value(), r.error().describe());
  CHECK(r->items.size() == 6);
}
