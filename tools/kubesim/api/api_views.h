// JSON documents the API server answers besides plain objects and lists:
// discovery (/version, /api, /apis, /api/v1, /apis/G/V), metav1.Status
// bodies, and meta.k8s.io/v1 Tables for kubectl's server-side printing.
// Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/resources.h"
#include "scenario/scenario.h"

namespace rampart::kubesim {

Json versionInfo();
Json apiVersions(const std::string& server_address);
// `custom_resources`: include the groups of CRD-backed resources (Velero),
// i.e. whether the cluster has those CRDs installed.
Json apiGroupList(bool custom_resources = true);
// nullopt for a group/version kubesim does not serve.
std::optional<Json> apiResourceList(const std::string& group, const std::string& version,
                                    bool custom_resources = true);

// metav1.Status for an error answer; the reason is derived from `code`.
Json statusBody(int code, const std::string& message, const Json& details = Json());

// k8s.io/apimachinery/pkg/util/duration.HumanDuration, as kubectl's AGE.
std::string humanDuration(int64_t seconds);

enum class TableObjects { kNone, kMetadata, kObject };
TableObjects parseIncludeObject(const std::string& param);

// A Table with the columns `kubectl get` shows for `resource`. `now` is Unix
// seconds, for the AGE column.
Json buildTable(Resource resource, const std::vector<Json>& items,
                const std::string& resource_version, TableObjects include, int64_t now);

}  // namespace rampart::kubesim
