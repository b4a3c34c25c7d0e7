// Deterministic identifiers for simulated objects: UIDs, pod name suffixes,
// template hashes and timestamps. Everything derives from the scenario seed, so
// the same scenario and seed give byte-identical objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rampart/time.h"

namespace rampart::kubesim {

// splitmix64: small, fast, and identical on every platform (unlike the
// standard library distributions).
class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed) : state_(seed) {}

  uint64_t next();
  // An RFC 4122 version-4 shaped UUID, e.g. "3f1c...-....-4...-8...-...".
  std::string uid();
  // `n` characters from the alphabet Kubernetes uses for generated names
  // ("bcdfghjklmnpqrstvwxz2456789"), as in "web-7d4b9c8f6d-x2k9p".
  std::string suffix(size_t n);
  // A hex string of `n` characters (container IDs, machine IDs).
  std::string hex(size_t n);

 private:
  uint64_t state_;
};

// FNV-1a of `text` encoded with the name alphabet: a stable stand-in for the
// pod-template-hash / controller-revision-hash.
std::string templateHash(std::string_view text, size_t length = 10);

// Timestamps are written and read with rampart/time.h (formatRfc3339,
// parseRfc3339Seconds).

}  // namespace rampart::kubesim
