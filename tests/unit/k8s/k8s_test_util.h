// Helpers shared by the k8s JSON tests.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/model.h"
#include "test_support.h"

namespace rampart::k8s::testutil {

inline std::string fixture(const std::string& name) {
  return rampart::testing::readFile(rampart::testing::testData("k8s/" + name));
}

// The JSON text of items[i] of a list fixture, cut out with simdjson DOM.
inline std::string listItem(const std::string& name, size_t i) {
  simdjson::dom::parser parser;
  simdjson::padded_string json(fixture(name));
  simdjson::dom::element items = parser.parse(json)["items"];
  return simdjson::minify(items.at(i));
}

template <class T>
const T* byName(const std::vector<T>& items, std::string_view name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.name == name; });
  return it == items.end() ? nullptr : &*it;
}

inline const ContainerStatus* container(const Pod& p, std::string_view name) {
  return byName(p.containers, name);
}

}  // namespace rampart::k8s::testutil
