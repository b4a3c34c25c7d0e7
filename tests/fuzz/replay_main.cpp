// The main() of a fuzz target in the normal build: runs LLVMFuzzerTestOneInput
// once on every file named on the command line or found (recursively) under a
// directory named there, in name order, and fails when an input crashes the
// target or passes the memory limits libFuzzer is given (cmake/RampartFuzz.cmake):
// one allocation over RAMPART_FUZZ_MALLOC_MB, or a peak RSS over
// RAMPART_FUZZ_RSS_MB. Prints the number of inputs run.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMallocLimit = size_t{RAMPART_FUZZ_MALLOC_MB} << 20;
constexpr long kRssLimitKb = long{RAMPART_FUZZ_RSS_MB} << 10;

// The input being run, for the messages of a failure (a fixed buffer: the
// allocation hook below must not allocate).
char current_input[4096] = "(none)";

void* allocate(size_t size) {
  if (size > kMallocLimit) {
    std::fprintf(stderr, "fuzz replay: %s: one allocation of %zu bytes (limit %d MB)\n",
                 current_input, size, RAMPART_FUZZ_MALLOC_MB);
    std::abort();
  }
  return std::malloc(size == 0 ? 1 : size);
}

long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

// libFuzzer's -malloc_limit_mb, for the allocations of operator new (the
// libraries under test allocate through it; C allocations count in the RSS).
void* operator new(size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  return operator new(size);
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return allocate(size);
}
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return allocate(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "fuzz replay: %s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::snprintf(current_input, sizeof current_input, "%s", path.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    if (peakRssKb() > kRssLimitKb) {
      std::fprintf(stderr, "fuzz replay: %s: peak RSS %ld MB (limit %d MB)\n", path.c_str(),
                   peakRssKb() >> 10, RAMPART_FUZZ_RSS_MB);
      return 1;
    }
  }
  std::printf("fuzz replay: %zu inputs, peak RSS %ld MB\n", inputs.size(), peakRssKb() >> 10);
  return inputs.empty() ? 1 : 0;
}
