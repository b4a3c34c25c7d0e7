// A watch stream as the client reads it: the body split into lines
// (http::LineSplitter, fed in small pieces as from a network), each line
// decoded as an event of the informer (decodeWatchLine) and of the agent's
// pod and node watches. Split in pieces or at once, the lines are the same.
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "rampart/http_wire.h"
#include "rampart/k8s_json.h"
#include "rampart/object_cache.h"

namespace {

constexpr size_t kMaxLine = 1u << 16;  // small, so the too-long path runs

std::vector<std::string> splitInPieces(std::string_view body, bool& too_long) {
  std::vector<std::string> lines;
  rampart::http::LineSplitter splitter(kMaxLine);
  auto on_line = [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  for (size_t i = 0; !body.empty(); ++i) {
    const size_t n = std::min(body.size(), rampart::fuzz::pieceLength(i));
    if (splitter.feed(body.substr(0, n), on_line) == rampart::http::LineSplitter::Feed::kTooLong) {
      too_long = true;
      break;
    }
    body.remove_prefix(n);
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart;
  const std::string_view body = fuzz::bytes(data, size);
  bool too_long = false;
  const std::vector<std::string> lines = splitInPieces(body, too_long);

  std::vector<std::string> at_once;
  http::LineSplitter whole(kMaxLine);
  auto fed = whole.feed(body, [&](std::string_view line) {
    at_once.emplace_back(line);
    return true;
  });
  if (!too_long && (fed != http::LineSplitter::Feed::kMore || lines != at_once))
    fuzz::violated("LineSplitter: pieces and the whole body give different lines");

  for (const auto& line : lines) {
    if (line.empty() || line.find('\n') != std::string::npos)
      fuzz::violated("LineSplitter: an empty line or one with a newline");
    (void)k8s::decodeWatchLine(line, "PodList");
    (void)k8s::decodeWatchLine(line, "");
    (void)k8s::decodePodWatchEvent(line);
    (void)k8s::decodeNodeWatchEvent(line);
  }
  return 0;
}
