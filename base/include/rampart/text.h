// Small text helpers every area shares: trimming, base64, percent-encoding,
// HOST:PORT and globs. Pure; one implementation of each (docs/architecture.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rampart/error.h"

namespace rampart {

// `s` without leading and trailing ASCII white space (space, \t, \n, \v, \f, \r).
std::string_view trim(std::string_view s);

// Standard (RFC 4648 section 4) or URL-safe (section 5) alphabet, either mixed;
// padding optional; line breaks and spaces ignored. kParse on any other byte.
Result<std::string> base64Decode(std::string_view in);
// URL-safe alphabet without padding (Kubernetes continue tokens).
std::string base64UrlEncode(std::string_view in);

// Percent-encodes a URL query parameter value: RFC 3986 unreserved characters
// (A-Z a-z 0-9 - _ . ~) stay, every other byte becomes %XX.
std::string urlEncode(std::string_view value);

struct HostPort {
  std::string host;  // without IPv6 brackets; may be empty (":8080")
  uint16_t port = 0;
  std::string portText() const { return std::to_string(port); }
};
// HOST:PORT, [IPv6]:PORT or :PORT, the port decimal 0-65535. kConfig, with a
// message naming `address`, when it is not of that form; callers add what it
// is for and reject port 0 or an empty host where those make no sense.
Result<HostPort> splitHostPort(std::string_view address);

// Shell-style glob, the one matcher of every configuration file (hooks, alert
// rules): fnmatch(3) without flags. `*` any run of characters (`/` and a
// leading `.` included), `?` one character, `[abc]`, `[a-z]` and `[!a]` one
// of a set, `\x` a literal x. A pattern without those matches only itself.
bool globMatch(std::string_view pattern, std::string_view text);

// Well-formed UTF-8 (RFC 3629): no stray continuation bytes, overlong forms,
// surrogates or code points past U+10FFFF. NUL bytes are well-formed.
bool validUtf8(std::string_view text);

// An RFC 1123 subdomain as Kubernetes names most objects (nodes among them):
// 1-253 characters of [a-z0-9.-], starting and ending with [a-z0-9].
bool isDnsSubdomain(std::string_view name);

// A message built of pieces in one allocation, without the temporaries of
// `a + b + c`: concat("node ", name, " is ", std::to_string(n), " old").
// Each piece converts to std::string_view (a temporary lives to the end of
// the full expression, so std::to_string(...) is fine).
template <typename... Parts>
std::string concat(const Parts&... parts) {
  const std::array<std::string_view, sizeof...(Parts)> views{std::string_view(parts)...};
  size_t size = 0;
  for (std::string_view v : views) size += v.size();
  std::string out;
  out.reserve(size);
  for (std::string_view v : views) out += v;
  return out;
}

}  // namespace rampart
