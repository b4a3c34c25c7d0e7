#include "cluster/node_leases.h"

#include <cstdio>

#include "cluster/ids.h"

namespace rampart::kubesim {

std::string formatMicroTime(int64_t unix_micros) {
  int64_t seconds = unix_micros / 1000000;
  int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::string out = formatRfc3339(seconds);  // "...:SSZ"
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lldZ", static_cast<long long>(micros));
  out.pop_back();
  out += frac;
  return out;
}

Json makeNodeLease(const Json& node, int64_t renew_micros, uint64_t salt) {
  const Json& meta = node["metadata"];
  const std::string name = meta.value("name", "");
  const std::string node_uid = meta.value("uid", "");
  // FNV-1a of the node's uid seeds a private generator.
  uint64_t seed = 0xcbf29ce484222325ULL ^ salt;
  for (unsigned char c : node_uid + "/lease") {
    seed ^= c;
    seed *= 0x100000001b3ULL;
  }
  IdGenerator ids(seed);
  Json owner{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", name}, {"uid", node_uid}};
  return Json{{"metadata", Json{{"name", name},
                                {"namespace", kNodeLeaseNamespace},
                                {"uid", ids.uid()},
                                {"resourceVersion", "0"},
                                {"creationTimestamp", meta.value("creationTimestamp", "")},
                                {"ownerReferences", Json::array({owner})}}},
              {"spec", Json{{"holderIdentity", name},
                            {"leaseDurationSeconds", kNodeLeaseDurationSeconds},
                            {"renewTime", formatMicroTime(renew_micros)}}}};
}

void renewNodeLease(Json& lease, int64_t renew_micros) {
  lease["spec"]["renewTime"] = formatMicroTime(renew_micros);
}

}  // namespace rampart::kubesim
