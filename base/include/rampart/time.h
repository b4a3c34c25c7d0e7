// Wall-clock time as the project reads and writes it: Unix milliseconds and
// RFC 3339. Pure but for unixMillisNow(); one implementation of each
// (docs/architecture.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace rampart {

// The system clock, in milliseconds since the Unix epoch.
int64_t unixMillisNow();
// The monotonic clock, in milliseconds since an arbitrary start (intervals,
// throttles, ages that must not jump with the wall clock).
int64_t steadyMillisNow();

// The clock seam of loops that decide by time (hook runner, engine runner,
// ingest, alert sender): milliseconds, the real clocks by default; tests pass
// their own to drive time.
using MillisClock = std::function<int64_t()>;

struct Rfc3339 {
  int64_t unix_seconds = 0;
  uint32_t nanos = 0;       // the fraction's first nine digits
  int fraction_digits = 0;  // as written (may exceed 9)
};

// Parses an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
// ("T" and "Z" in either case), strictly: real calendar days (leap years),
// hours 0-23, minutes 0-59, seconds 0-60, nothing after the offset. nullopt
// otherwise.
std::optional<Rfc3339> parseRfc3339(std::string_view text);
// The same, whole seconds since the epoch (the fraction dropped).
std::optional<int64_t> parseRfc3339Seconds(std::string_view text);

// "2026-01-02T20:02:19Z" (UTC, second precision).
std::string formatRfc3339(int64_t unix_seconds);
// "2026-01-02T03:04:05.678Z" (UTC, millisecond precision).
std::string formatRfc3339Millis(int64_t unix_ms);

}  // namespace rampart
