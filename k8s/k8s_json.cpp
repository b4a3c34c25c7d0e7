// Public entry points of the Kubernetes JSON decoder: simdjson On-Demand over
// a padded per-thread buffer (see docs/json-choice.md for why), driving the
// field logic of k8s_json_decode.h.
#include "rampart/k8s_json.h"

#include <exception>
#include <string>

#include "k8s_json_decode.h"
#include "k8s_json_ondemand.h"

namespace rampart::k8s {
namespace {

using detail::Decoder;
using detail::OnDemand;
using Value = OnDemand::Value;

template <class T, class F>
Result<T> run(const char* what, std::string_view json, F&& fn) {
  try {
    T out;
    Decoder<OnDemand> d;
    const char* e = detail::parseOnDemand(json, [&](Value& root) { return fn(d, root, out); });
    if (e == nullptr) return out;
    std::string m = what;
    m += ": ";
    m += e == detail::kAbort ? d.describe() : std::string(e);
    return fail(ErrorCode::kParse, std::move(m));
  } catch (const std::exception& ex) {
    // std::bad_alloc or a length error on absurd input: never escape the API.
    return fail(ErrorCode::kParse, std::string(what) + ": " + ex.what());
  }
}

template <class T, class ObjFn>
Result<WatchEvent<T>> watch(const char* what, std::string_view line, ObjFn obj_fn) {
  bool object_first = false;
  auto decode = [&](std::optional<WatchEventType> known) {
    return run<WatchEvent<T>>(
        what, line, [&](Decoder<OnDemand>& d, Value& root, WatchEvent<T>& ev) {
          return d.watchEvent(
              root, ev, [&](Value& v, T& o) { return obj_fn(d, v, o); }, object_first, known);
        });
  };
  Result<WatchEvent<T>> r = decode(std::nullopt);
  if (!r || !object_first) return r;
  // "object" came before "type" (no real server does this): decode again now
  // that the type is known.
  return decode(r->type);
}

}  // namespace

Result<Pod> decodePod(std::string_view json) {
  return run<Pod>("pod", json, [](Decoder<OnDemand>& d, Value& v, Pod& p) { return d.pod(v, p); });
}

Result<PodList> decodePodList(std::string_view json) {
  return run<PodList>("pod list", json,
                      [](Decoder<OnDemand>& d, Value& v, PodList& l) { return d.podList(v, l); });
}

Result<WatchEvent<Pod>> decodePodWatchEvent(std::string_view line) {
  return watch<Pod>("pod watch event", line,
                    [](Decoder<OnDemand>& d, Value& v, Pod& p) { return d.pod(v, p); });
}

Result<Node> decodeNode(std::string_view json) {
  return run<Node>("node", json,
                   [](Decoder<OnDemand>& d, Value& v, Node& n) { return d.node(v, n); });
}

Result<NodeList> decodeNodeList(std::string_view json) {
  return run<NodeList>("node list", json, [](Decoder<OnDemand>& d, Value& v, NodeList& l) {
    return d.nodeList(v, l);
  });
}

Result<WatchEvent<Node>> decodeNodeWatchEvent(std::string_view line) {
  return watch<Node>("node watch event", line,
                     [](Decoder<OnDemand>& d, Value& v, Node& n) { return d.node(v, n); });
}

Result<Status> decodeStatus(std::string_view json) {
  return run<Status>("status", json,
                     [](Decoder<OnDemand>& d, Value& v, Status& s) { return d.status(v, s); });
}

}  // namespace rampart::k8s
