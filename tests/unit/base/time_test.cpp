// base/time.h: the one RFC 3339 parser and the formats the project writes.
#include "rampart/time.h"

#include <doctest/doctest.h>

using namespace rampart;

TEST_CASE("RFC 3339: Z, fractions and offsets, strict calendar") {
  CHECK(parseRfc3339Seconds("1970-01-01T00:00:00Z") == 0);
  CHECK(parseRfc3339Seconds("2026-01-02T19:58:24Z") == 1767383904);
  CHECK(parseRfc3339Seconds("2026-01-02T19:58:24.123456789Z") == 1767383904);
  CHECK(parseRfc3339Seconds("2026-01-02T20:58:24+01:00") == 1767383904);
  CHECK(parseRfc3339Seconds("2026-01-02T14:28:24-05:30") == 1767383904);
  CHECK(parseRfc3339Seconds("2026-01-02t19:58:24z") == 1767383904);
  CHECK(parseRfc3339Seconds("2000-02-29T12:34:56Z") == 951827696);
  CHECK(parseRfc3339Seconds("1969-12-31T23:59:59Z") == -1);
  for (const char* bad :
       {"", "2026-01-02", "2026-01-02T19:58:24", "2026-01-02 19:58:24Z", "2026-13-02T19:58:24Z",
        "2026-02-29T19:58:24Z", "2026-01-02T24:00:00Z", "2026-01-02T19:58:24.Z",
        "2026-01-02T19:58:24+0100", "2026-01-02T19:58:24Zjunk", "2026-01-0xT19:58:24Z"}) {
    CHECK_MESSAGE(!parseRfc3339Seconds(bad).has_value(), bad);
  }
}

TEST_CASE("RFC 3339: the fraction of a second") {
  auto t = parseRfc3339("2026-11-26T01:30:00.780Z");
  REQUIRE(t);
  CHECK(t->nanos == 780000000);
  CHECK(t->fraction_digits == 3);
  auto long_fraction = parseRfc3339("2026-11-26T01:30:00.1234567891Z");
  REQUIRE(long_fraction);
  CHECK(long_fraction->nanos == 123456789);  // the first nine digits
  CHECK(long_fraction->fraction_digits == 10);
  auto whole = parseRfc3339("2026-11-26T01:30:00Z");
  REQUIRE(whole);
  CHECK(whole->nanos == 0);
  CHECK(whole->fraction_digits == 0);
}

TEST_CASE("RFC 3339: formatting round-trips") {
  CHECK(formatRfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(formatRfc3339(1767383904) == "2026-01-02T19:58:24Z");
  CHECK(formatRfc3339(-62135596800) == "0001-01-01T00:00:00Z");  // four digits for every year
  CHECK(formatRfc3339Millis(1767383904123) == "2026-01-02T19:58:24.123Z");
  CHECK(formatRfc3339Millis(-1) == "1969-12-31T23:59:59.999Z");
  for (int64_t t : {int64_t{0}, int64_t{951827696}, int64_t{1767383904}, int64_t{-1}}) {
    CHECK(parseRfc3339Seconds(formatRfc3339(t)) == t);
  }
  CHECK(unixMillisNow() > 1767383904000);
}
