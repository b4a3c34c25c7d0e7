// Included by `tools/dev lint` into every unit clang-tidy parses, never by the
// build. Cap'n Proto 0.9's headers (Debian 12) compare `const char*` with
// kj::StringPtr relying on C++20's reversed operator== candidates, which
// clang 16 does not find for them (GCC does): kj/string.h leaves out its own
// `const char* == StringPtr` when __cpp_impl_three_way_comparison is set.
// Declaring it here lets clang-tidy parse wire.cpp and its tests.
#pragma once

#include <kj/string.h>

namespace kj {
inline bool operator==(const char* a, const StringPtr& b) {
  return b == StringPtr(a);
}
inline bool operator!=(const char* a, const StringPtr& b) {
  return !(b == StringPtr(a));
}
}  // namespace kj
