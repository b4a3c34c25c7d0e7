// Error handling shared by every Rampart binary.
//
// Expected failures (I/O, network, bad peer data, timeouts) are returned as
// `Result<T>` = `std::expected<T, Error>`. Not-found is `std::optional`, not an
// error. Bugs abort through RAMPART_CHECK.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace rampart {

enum class ErrorCode {
  kIo,        // file system or OS call failed
  kParse,     // malformed input (JSON, YAML, Cap'n Proto, /proc text)
  kNetwork,   // connection refused, reset, DNS, TLS
  kTimeout,   // deadline passed
  kHttp,      // a peer answered with an unexpected HTTP status
  kGone,      // HTTP 410 / expired resourceVersion: relist
  kProtocol,  // well-formed but not what the protocol allows
  kConfig,    // invalid configuration or command line
  kStore,     // SQLite failure
  kLimit,     // input over a configured limit (Error::reason names it)
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
  int http_status = 0;  // set for kHttp / kGone
  // A stable name of the cause for counters (a static string, e.g. the limit
  // a frame broke); empty when the code says enough.
  std::string_view reason = {};

  std::string describe() const;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, int http_status = 0) {
  return std::unexpected<Error>(Error{code, std::move(message), http_status});
}

// An input over a limit: kLimit with the limit's name as the reason.
inline std::unexpected<Error> failLimit(std::string_view reason, std::string message) {
  return std::unexpected<Error>(Error{ErrorCode::kLimit, std::move(message), 0, reason});
}

[[noreturn]] void checkFailed(const char* expr, const char* file, int line);

}  // namespace rampart

// Aborts the process on a broken invariant (a bug, never bad input).
#define RAMPART_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::rampart::checkFailed(#cond, __FILE__, __LINE__))
