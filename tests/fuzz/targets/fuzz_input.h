// Helpers shared by the fuzz targets (tests/fuzz/CMakeLists.txt). A target
// must not abort on any input except for a bug: every check here is a
// property the code under test promises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace rampart::fuzz {

inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property of the code under test failed: abort, which both libFuzzer and
// the replay driver report as a crash with the input that caused it.
[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

// Piece lengths for feeding a stream decoder as a network would: 1, 2, 3 ...
// 13 bytes, then again; the same for every run of an input (no input bytes
// are spent on choosing them, so seeds stay plain documents).
inline size_t pieceLength(size_t index) {
  return 1 + index % 13;
}

}  // namespace rampart::fuzz
