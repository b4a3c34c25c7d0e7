#include "rampart/error.h"

namespace rampart {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kParse:
      return "parse";
    case ErrorCode::kNetwork:
      return "network";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kHttp:
      return "http";
    case ErrorCode::kGone:
      return "gone";
    case ErrorCode::kProtocol:
      return "protocol";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kStore:
      return "store";
    case ErrorCode::kLimit:
      return "limit";
  }
  return "unknown";
}

std::string Error::describe() const {
  std::string out(errorCodeName(code));
  if (http_status != 0) out += " " + std::to_string(http_status);
  out += ": ";
  out += message;
  return out;
}

void checkFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "rampart: check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace rampart
