// ObjectStore and decodeWatchLine: the pure half of rampart/object_cache.h.
#include "rampart/object_cache.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rampart::k8s {
namespace {

template <typename T>
const std::string& nsOf(const T& o) {
  return o.namespace_;
}
const std::string& nsOf(const Node&) {
  static const std::string kNone;
  return kNone;
}
const std::string& nsOf(const NamespaceInfo&) {
  static const std::string kNone;
  return kNone;
}
const std::string& nsOf(const PersistentVolume&) {
  static const std::string kNone;
  return kNone;
}

struct KindName {
  std::string operator()(const Node&) const { return "Node"; }
  std::string operator()(const Pod&) const { return "Pod"; }
  std::string operator()(const Workload& w) const { return w.kind; }
  std::string operator()(const PodDisruptionBudget&) const { return "PodDisruptionBudget"; }
  std::string operator()(const HorizontalPodAutoscaler&) const { return "HorizontalPodAutoscaler"; }
  std::string operator()(const Service&) const { return "Service"; }
  std::string operator()(const NamespaceInfo&) const { return "Namespace"; }
  std::string operator()(const PersistentVolumeClaim&) const { return "PersistentVolumeClaim"; }
  std::string operator()(const PersistentVolume&) const { return "PersistentVolume"; }
  std::string operator()(const VeleroSchedule&) const { return "Schedule"; }
  std::string operator()(const VeleroBackup&) const { return "Backup"; }
  std::string operator()(const NodeLease&) const { return "Lease"; }
};

// Equal for the engine: Pods and Nodes carry resourceVersion, which moves on
// updates of fields the model does not keep (heartbeats, managedFields).
bool sameForEngine(const Object& a, const Object& b) {
  if (a.index() != b.index()) return false;
  if (const auto* pa = std::get_if<Pod>(&a)) {
    Pod copy = std::get<Pod>(b);
    copy.resource_version = pa->resource_version;
    return *pa == copy;
  }
  if (const auto* na = std::get_if<Node>(&a)) {
    Node copy = std::get<Node>(b);
    copy.resource_version = na->resource_version;
    return *na == copy;
  }
  return a == b;
}

void appendTo(Objects& out, const Object& object) {
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Node>) out.nodes.push_back(o);
        if constexpr (std::is_same_v<T, Pod>) out.pods.push_back(o);
        if constexpr (std::is_same_v<T, Workload>) out.workloads.push_back(o);
        if constexpr (std::is_same_v<T, PodDisruptionBudget>) out.pdbs.push_back(o);
        if constexpr (std::is_same_v<T, HorizontalPodAutoscaler>) out.hpas.push_back(o);
        if constexpr (std::is_same_v<T, Service>) out.services.push_back(o);
        if constexpr (std::is_same_v<T, NamespaceInfo>) out.namespaces.push_back(o);
        if constexpr (std::is_same_v<T, PersistentVolumeClaim>) out.pvcs.push_back(o);
        if constexpr (std::is_same_v<T, PersistentVolume>) out.pvs.push_back(o);
        if constexpr (std::is_same_v<T, VeleroSchedule>) out.velero_schedules.push_back(o);
        if constexpr (std::is_same_v<T, VeleroBackup>) out.velero_backups.push_back(o);
        if constexpr (std::is_same_v<T, NodeLease>) out.node_leases.push_back(o);
      },
      object);
}

}  // namespace

std::string ObjectKey::describe() const {
  return kind + " " + (namespace_.empty() ? name : namespace_ + "/" + name);
}

ObjectKey keyOf(const Object& object) {
  return std::visit(
      [](const auto& o) {
        return ObjectKey{KindName{}(o), std::string(nsOf(o)), o.name};
      },
      object);
}

std::vector<Object> objectsOf(Objects&& objects) {
  std::vector<Object> out;
  auto take = [&out](auto& items) {
    for (auto& item : items) out.emplace_back(std::move(item));
    items.clear();
  };
  take(objects.nodes);
  take(objects.pods);
  take(objects.workloads);
  take(objects.pdbs);
  take(objects.hpas);
  take(objects.services);
  take(objects.namespaces);
  take(objects.pvcs);
  take(objects.pvs);
  take(objects.velero_schedules);
  take(objects.velero_backups);
  take(objects.node_leases);
  return out;
}

// ---- ObjectStore ----

ObjectStore::ObjectStore(size_t slots) : slots_(slots) {}

void ObjectStore::noteUpsert(const ObjectKey& key, size_t slot) {
  removed_.erase(key);
  upserted_[key] = slot;
}

void ObjectStore::noteRemove(const ObjectKey& key) {
  upserted_.erase(key);
  removed_.insert(key);
}

bool ObjectStore::upsert(size_t slot, Object object) {
  RAMPART_CHECK(slot < slots_.size());
  ObjectKey key = keyOf(object);
  auto& map = slots_[slot].objects;
  auto it = map.find(key);
  bool changed = it == map.end() || !sameForEngine(*it->second, object);
  auto stored = std::make_shared<const Object>(std::move(object));
  if (it == map.end()) {
    map.emplace(key, std::move(stored));
  } else {
    it->second = std::move(stored);
  }
  if (changed) noteUpsert(key, slot);
  return changed;
}

bool ObjectStore::remove(size_t slot, const ObjectKey& key) {
  RAMPART_CHECK(slot < slots_.size());
  if (slots_[slot].objects.erase(key) == 0) return false;
  noteRemove(key);
  return true;
}

size_t ObjectStore::replace(size_t slot, std::vector<Object> objects) {
  RAMPART_CHECK(slot < slots_.size());
  Slot& s = slots_[slot];
  s.bad.clear();
  std::set<ObjectKey> listed;
  size_t changes = 0;
  for (auto& o : objects) {
    listed.insert(keyOf(o));
    if (upsert(slot, std::move(o))) ++changes;
  }
  for (auto it = s.objects.begin(); it != s.objects.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    noteRemove(it->first);
    it = s.objects.erase(it);
    ++changes;
  }
  return changes;
}

void ObjectStore::setListWarnings(size_t slot, std::vector<std::string> warnings, size_t skipped) {
  RAMPART_CHECK(slot < slots_.size());
  slots_[slot].list_warnings = std::move(warnings);
  slots_[slot].list_skipped = skipped;
}

void ObjectStore::setBadObject(size_t slot, const ObjectKey& key, std::string warning) {
  RAMPART_CHECK(slot < slots_.size());
  slots_[slot].bad[key] = std::move(warning);
}

void ObjectStore::clearBadObject(size_t slot, const ObjectKey& key) {
  RAMPART_CHECK(slot < slots_.size());
  slots_[slot].bad.erase(key);
}

void ObjectStore::setVeleroSeen(size_t slot, bool seen) {
  RAMPART_CHECK(slot < slots_.size());
  slots_[slot].velero_seen = seen;
}

void ObjectStore::setSlotNote(size_t slot, std::string note) {
  RAMPART_CHECK(slot < slots_.size());
  slots_[slot].note = std::move(note);
}

Objects ObjectStore::snapshot() const {
  Objects out;
  for (const Slot& s : slots_) {
    for (const auto& [key, object] : s.objects) appendTo(out, *object);
    out.warnings.insert(out.warnings.end(), s.list_warnings.begin(), s.list_warnings.end());
    out.skipped += s.list_skipped;
    if (s.list_skipped > 0) out.partial = true;
    for (const auto& [key, warning] : s.bad) {
      out.warnings.push_back(warning);
      ++out.skipped;
      out.partial = true;
    }
    if (!s.note.empty()) out.warnings.push_back(s.note);
    out.velero_seen = out.velero_seen || s.velero_seen;
  }
  return out;
}

std::vector<ObjectChange> ObjectStore::drain() {
  std::vector<ObjectChange> out;
  out.reserve(upserted_.size() + removed_.size());
  for (const auto& [key, slot] : upserted_) {
    auto it = slots_[slot].objects.find(key);
    if (it == slots_[slot].objects.end()) continue;
    out.push_back({ObjectChange::Op::kUpserted, key, it->second});
  }
  for (const auto& key : removed_) out.push_back({ObjectChange::Op::kRemoved, key, nullptr});
  std::sort(out.begin(), out.end(),
            [](const ObjectChange& a, const ObjectChange& b) { return a.key < b.key; });
  upserted_.clear();
  removed_.clear();
  return out;
}

size_t ObjectStore::size() const {
  size_t n = 0;
  for (const auto& s : slots_) n += s.objects.size();
  return n;
}

size_t ObjectStore::size(size_t slot) const {
  RAMPART_CHECK(slot < slots_.size());
  return slots_[slot].objects.size();
}

// ---- decodeWatchLine ----

Result<DecodedWatchEvent> decodeWatchLine(std::string_view line, std::string_view list_kind) {
  auto doc = nlohmann::json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail(ErrorCode::kParse, "watch event is not a JSON object");
  }
  auto type_it = doc.find("type");
  if (type_it == doc.end() || !type_it->is_string()) {
    return fail(ErrorCode::kParse, "watch event has no string \"type\"");
  }
  const std::string type = type_it->get<std::string>();
  DecodedWatchEvent ev;
  if (type == "ADDED") {
    ev.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    ev.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    ev.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    ev.type = WatchEventType::kBookmark;
  } else if (type == "ERROR") {
    ev.type = WatchEventType::kError;
  } else {
    return fail(ErrorCode::kParse, "unknown watch event type \"" + type + "\"");
  }
  auto obj_it = doc.find("object");
  if (obj_it == doc.end() || !obj_it->is_object()) {
    return fail(ErrorCode::kParse, "watch event " + type + " has no \"object\" object");
  }
  nlohmann::json& obj = *obj_it;
  if (ev.type == WatchEventType::kError) {
    ev.status.code = obj.value("code", 0);
    if (auto r = obj.find("reason"); r != obj.end() && r->is_string()) ev.status.reason = *r;
    if (auto m = obj.find("message"); m != obj.end() && m->is_string()) ev.status.message = *m;
    return ev;
  }
  const nlohmann::json* meta = nullptr;
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) meta = &*m;
  if (meta != nullptr) {
    if (auto rv = meta->find("resourceVersion"); rv != meta->end() && rv->is_string()) {
      ev.resource_version = rv->get<std::string>();
    }
  }
  if (ev.type == WatchEventType::kBookmark) return ev;

  const nlohmann::json* name = nullptr;
  if (meta != nullptr) {
    if (auto n = meta->find("name"); n != meta->end() && n->is_string()) name = &*n;
  }
  if (name == nullptr || name->get_ref<const std::string&>().empty()) {
    return fail(ErrorCode::kParse, "watch event " + type + ": object has no metadata.name");
  }
  ev.key.name = name->get<std::string>();
  if (auto n = meta->find("namespace"); n != meta->end() && n->is_string()) {
    ev.key.namespace_ = n->get<std::string>();
  }
  if (auto k = obj.find("kind");
      k != obj.end() && k->is_string() && !k->get_ref<const std::string&>().empty()) {
    ev.key.kind = k->get<std::string>();
  } else {
    ev.key.kind = std::string(list_kind);
    obj["kind"] = ev.key.kind;
  }
  if ((ev.key.kind == "Schedule" || ev.key.kind == "Backup") && !obj.contains("apiVersion")) {
    obj["apiVersion"] = "velero.io/v1";
  }
  if (ev.type == WatchEventType::kDeleted) return ev;  // the key is all a deletion needs

  Objects decoded;
  if (auto ok = decodeObjects(obj.dump(), decoded); !ok) {
    ev.object_warning = ev.key.describe() + ": " + ok.error().message;
    return ev;
  }
  const std::string first_warning =
      decoded.warnings.empty() ? std::string("not decoded") : decoded.warnings.front();
  std::vector<Object> objects = objectsOf(std::move(decoded));
  if (objects.size() != 1) {
    ev.object_warning = ev.key.describe() + ": " + first_warning;
  } else if (keyOf(objects.front()) != ev.key) {
    ev.object_warning = ev.key.describe() + ": decoded as " + keyOf(objects.front()).describe();
  } else {
    ev.object = std::move(objects.front());
  }
  return ev;
}

std::string_view relistReasonName(RelistReason reason) {
  switch (reason) {
    case RelistReason::kInitial:
      return "initial";
    case RelistReason::kExpired:
      return "expired";
    case RelistReason::kError:
      return "error";
    case RelistReason::kResync:
      return "resync";
  }
  return "unknown";
}

}  // namespace rampart::k8s
