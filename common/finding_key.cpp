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

}  // namespace rampart::engine
