#include <doctest/doctest.h>

#include "rampart/error.h"

using namespace rampart;

TEST_CASE("Error::describe names the code, the HTTP status and the message") {
  Error plain{ErrorCode::kParse, "bad field spec.nodeName"};
  CHECK(plain.describe() == "parse: bad field spec.nodeName");
  Error http{ErrorCode::kGone, "too old resource version", 410};
  CHECK(http.describe() == "gone 410: too old resource version");
}

TEST_CASE("fail() builds an unexpected Result") {
  Result<int> r = fail(ErrorCode::kTimeout, "deadline");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kTimeout);
}
