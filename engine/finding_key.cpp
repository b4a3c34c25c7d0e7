#include "rampart/finding_key.h"

namespace rampart::engine {

std::string findingKey(const Finding& f) {
  std::string key;
  key.reserve(f.check.size() + f.subject.kind.size() + f.subject.namespace_.size() +
              f.subject.name.size() + f.node.size() + 4);
  key += f.check;
  key += '|';
  key += f.subject.kind;
  key += '|';
  key += f.subject.namespace_;
  key += '|';
  key += f.subject.name;
  key += '|';
  key += f.node;
  return key;
}

LogFields findingLogFields(const Finding& f) {
  LogFields out{{"finding", findingKey(f)},
                {"check", f.check},
                {"severity", std::string(severityName(f.severity))}};
  const std::string& ns = f.workload ? f.workload->namespace_ : f.subject.namespace_;
  if (!ns.empty()) out.push_back({"namespace", ns});
  if (f.workload) {
    out.push_back({"workload", f.workload->kind + "/" + f.workload->name});
  } else if (f.subject.kind != "Node" && f.subject.kind != "Pod" && !f.subject.name.empty() &&
             !f.subject.namespace_.empty()) {
    out.push_back({"workload", f.subject.kind + "/" + f.subject.name});
  }
  if (!f.node.empty()) out.push_back({"node", f.node});
  if (!f.zone.empty()) out.push_back({"zone", f.zone});
  return out;
}

LogFields findingKeyLogFields(std::string_view key) {
  std::string_view part[5];
  size_t n = 0;
  for (size_t start = 0; n < 5; ++n) {
    size_t bar = key.find('|', start);
    part[n] =
        key.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    if (bar == std::string_view::npos) {
      ++n;
      break;
    }
    start = bar + 1;
  }
  LogFields out{{"finding", std::string(key)}};
  if (n < 5) return out;  // not a key of findingKey()'s shape
  out.push_back({"check", std::string(part[0])});
  if (!part[2].empty()) out.push_back({"namespace", std::string(part[2])});
  if (part[1] != "Node" && part[1] != "Pod" && !part[2].empty() && !part[3].empty()) {
    out.push_back({"workload", std::string(part[1]) + "/" + std::string(part[3])});
  }
  if (!part[4].empty()) out.push_back({"node", std::string(part[4])});
  return out;
}

}  // namespace rampart::engine
