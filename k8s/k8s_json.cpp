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

namespace {

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<int64_t> parseTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 60 + om) * 60 * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         hour * 3600 + minute * 60 + second - offset;
}

}  // namespace rampart::k8s
