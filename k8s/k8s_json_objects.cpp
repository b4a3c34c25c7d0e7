// decodeObjects(): the document-level driver over simdjson On-Demand for
// dumps of many kinds; the field logic is in k8s_json_decode_objects.h.
//
// Items are decoded straight from the document's iterator. On-Demand cannot
// resume after an arbitrary failure inside an item, so the first failed item
// ends that pass; the document is then parsed again and, from that item on,
// each item's bytes are cut out (raw_json(), which only skips) and decoded by
// a second parser, so that a bad item costs only itself. Why not always do
// that: docs/json-choice.md, "Dumps of many kinds".
#include <simdjson.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "k8s_json_decode_objects.h"
#include "k8s_json_ondemand.h"
#include "rampart/k8s_objects.h"

namespace rampart::k8s {
namespace detail {
namespace {

namespace od = simdjson::ondemand;

// Growing the vectors of Objects moves their elements rather than copying them.
static_assert(std::is_nothrow_move_constructible_v<Node>);
static_assert(std::is_nothrow_move_constructible_v<Pod>);
static_assert(std::is_nothrow_move_constructible_v<Workload>);
static_assert(std::is_nothrow_move_constructible_v<PodDisruptionBudget>);
static_assert(std::is_nothrow_move_constructible_v<HorizontalPodAutoscaler>);
static_assert(std::is_nothrow_move_constructible_v<Service>);
static_assert(std::is_nothrow_move_constructible_v<NamespaceInfo>);
static_assert(std::is_nothrow_move_constructible_v<PersistentVolumeClaim>);
static_assert(std::is_nothrow_move_constructible_v<PersistentVolume>);
static_assert(std::is_nothrow_move_constructible_v<VeleroSchedule>);
static_assert(std::is_nothrow_move_constructible_v<VeleroBackup>);

using Outcome = ObjectDecoder<OnDemand>::Outcome;

constexpr size_t kNoItem = static_cast<size_t>(-1);
constexpr const char* kWhat = "k8s objects: ";

bool isListKind(std::string_view kind) {
  return kind.ends_with("List");
}

// Reads a top-level string field; null is absent. False on a wrong type.
bool readString(od::value& v, std::string& out) {
  if (v.is_null()) return true;
  std::string_view s;
  if (v.get_string().get(s)) return false;
  out.assign(s);
  return true;
}

// kind, apiVersion and whether there are items, wherever they sit in the
// top-level object. Stops quietly at the first error.
struct TypeInfo {
  std::string kind;
  std::string api_version;
  bool has_items = false;
};
TypeInfo scanType(od::document& doc) {
  TypeInfo t;
  od::object o;
  if (doc.get_object().get(o)) return t;
  for (auto r : o) {
    od::field f;
    std::string_view key;
    if (std::move(r).get(f) || f.unescaped_key().get(key)) break;
    od::value v = f.value();
    if (key == "kind" && !readString(v, t.kind)) break;
    if (key == "apiVersion" && !readString(v, t.api_version)) break;
    if (key == "items") t.has_items = !v.is_null();
  }
  return t;
}

// Sizes of everything in Objects, to give back a failed document.
struct Mark {
  explicit Mark(const Objects& o)
      : nodes(o.nodes.size()),
        pods(o.pods.size()),
        workloads(o.workloads.size()),
        pdbs(o.pdbs.size()),
        hpas(o.hpas.size()),
        services(o.services.size()),
        namespaces(o.namespaces.size()),
        pvcs(o.pvcs.size()),
        pvs(o.pvs.size()),
        schedules(o.velero_schedules.size()),
        backups(o.velero_backups.size()),
        leases(o.node_leases.size()),
        warnings(o.warnings.size()),
        skipped(o.skipped),
        velero_seen(o.velero_seen),
        partial(o.partial) {}
  void restore(Objects& o) const {
    o.nodes.resize(nodes);
    o.pods.resize(pods);
    o.workloads.resize(workloads);
    o.pdbs.resize(pdbs);
    o.hpas.resize(hpas);
    o.services.resize(services);
    o.namespaces.resize(namespaces);
    o.pvcs.resize(pvcs);
    o.pvs.resize(pvs);
    o.velero_schedules.resize(schedules);
    o.velero_backups.resize(backups);
    o.node_leases.resize(leases);
    o.warnings.resize(warnings);
    o.skipped = skipped;
    o.velero_seen = velero_seen;
    o.partial = partial;
  }
  size_t nodes, pods, workloads, pdbs, hpas, services, namespaces, pvcs, pvs, schedules, backups,
      leases, warnings, skipped;
  bool velero_seen, partial;
};

// The padded copy of a document. A large one is mapped on transparent huge
// pages where the kernel gives them on request (THP mode "madvise", the
// common default): one page fault per 2 MiB instead of one per 4 KiB, which
// in a VM is most of what a cold 300 MB copy costs. Elsewhere, or when the
// mapping fails, plain heap memory.
class CopyBuffer {
 public:
  CopyBuffer() = default;
  explicit CopyBuffer(size_t size) {
    if (size >= kMapFrom) {
      const size_t len = (size + kHuge - 1) / kHuge * kHuge;
      void* p =
          mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        // Aligned to 2 MiB, so that every page of it can be a huge one.
        char* base = static_cast<char*>(p);
        const auto misalign = reinterpret_cast<uintptr_t>(base) % kHuge;
        const size_t head = misalign == 0 ? 0 : kHuge - misalign;
        if (head != 0) munmap(base, head);
        if (kHuge - head != 0) munmap(base + head + len, kHuge - head);
        map_ = base + head;
        map_len_ = len;
        madvise(map_, map_len_, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
        return;
      }
    }
    heap_ = std::make_unique_for_overwrite<char[]>(size);
  }
  CopyBuffer(CopyBuffer&& o) noexcept { *this = std::move(o); }
  CopyBuffer& operator=(CopyBuffer&& o) noexcept {
    if (this != &o) {
      release();
      heap_ = std::move(o.heap_);
      map_ = std::exchange(o.map_, nullptr);
      map_len_ = std::exchange(o.map_len_, 0);
    }
    return *this;
  }
  ~CopyBuffer() { release(); }

  char* data() const { return map_ != nullptr ? map_ : heap_.get(); }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  static constexpr size_t kMapFrom = size_t{8} << 20;

  void release() {
    if (map_ != nullptr) munmap(map_, map_len_);
    map_ = nullptr;
    map_len_ = 0;
  }

  std::unique_ptr<char[]> heap_;
  char* map_ = nullptr;
  size_t map_len_ = 0;
};

class DumpDecoder {
 public:
  DumpDecoder(Objects& out, ItemRecovery mode)
      : out_(out), spans_from_(mode == ItemRecovery::kSpans ? 0 : kNoItem) {}

  // Room for a '}' patchEnd() may add, then simdjson's padding.
  static size_t paddedSize(size_t size) { return size + 1 + simdjson::SIMDJSON_PADDING; }

  // Decodes a copy of `json`.
  Result<void> run(std::string_view json) {
    copyIn(json);
    return runPasses();
  }

  // Decodes `json` in place, padded with zeroes, when its capacity has room
  // for the padding; else a copy, the string freed before parsing.
  Result<void> run(std::string&& json) {
    if (json.capacity() < paddedSize(json.size())) {
      copyIn(json);
      std::string().swap(json);
      return runPasses();
    }
    owned_ = std::move(json);
    size_ = owned_.size();
    capacity_ = paddedSize(size_);
    owned_.resize(capacity_, '\0');
    buf_ = owned_.data();
    return runPasses();
  }

 private:
  void copyIn(std::string_view json) {
    size_ = json.size();
    capacity_ = paddedSize(size_);
    copy_ = CopyBuffer(capacity_);
    buf_ = copy_.data();
    if (size_ != 0) std::memcpy(buf_, json.data(), size_);
    std::memset(buf_ + size_, 0, capacity_ - size_);
  }

  Result<void> runPasses() {
    len_ = size_;
    // At most: one pass that finds the kind late, one that meets a bad item,
    // one that decodes the rest from item spans.
    for (int pass = 0; pass < 4; ++pass) {
      switch (runPass()) {
        case Stop::kDone:
          flushUnknown();
          trimReserves();
          return {};
        case Stop::kError:
          return fail(ErrorCode::kParse, kWhat + error_);
        case Stop::kNeedType: {
          od::document doc;
          if (!start(doc)) return fail(ErrorCode::kParse, kWhat + error_);
          type_ = scanType(doc);
          type_known_ = true;
          skip_before_ = failed_at_;
          break;
        }
        case Stop::kItemFailed:
          // Items before it are decoded; it and the rest come from spans.
          skip_before_ = failed_at_;
          spans_from_ = failed_at_;
          break;
      }
    }
    return fail(ErrorCode::kParse, std::string(kWhat) + "could not settle on a decoding");
  }

  enum class Stop {
    kDone,
    kError,       // error_ says why; the document is rejected
    kNeedType,    // a field came before the kind that says what it is: scan first
    kItemFailed,  // item failed_at_ failed in the document's iterator
  };

  // ---- the document -------------------------------------------------------

  // Runs stage 1. A truncated document is made parsable up to its break:
  // one cut inside a string (which stage 1 rejects) is shortened to end
  // before that string, and an object that does not end with '}' gets one in
  // the padding (On-Demand refuses to start such a root object), so that the
  // error comes where the input breaks off and what precedes it is kept.
  bool start(od::document& doc) {
    if (!prepared_) {
      prepared_ = true;
      patchEnd();
    }
    for (;;) {
      auto e = parser_.iterate(buf_, len_, capacity_).get(doc);
      if (!e) return true;
      if (e == simdjson::EMPTY) {
        error_ = cut_ ? "document breaks off inside its first string" : "empty document";
        return false;
      }
      if (!cut_ && (e == simdjson::UNCLOSED_STRING || e == simdjson::UTF8_ERROR)) {
        size_t at = openStringStart();
        if (at != kNoItem) {
          // Clear what was cut (and an earlier patch): On-Demand looks at
          // the byte after the end for a stray '}'.
          std::memset(buf_ + at, 0, len_ - at);
          cut_ = true;
          cut_at_ = at;
          len_ = at;
          patched_ = false;
          patchEnd();
          continue;
        }
      }
      error_ = std::string("not JSON: ") + simdjson::error_message(e);
      return false;
    }
  }

  void patchEnd() {
    char* p = buf_;
    size_t first = 0, last = len_;
    while (first < len_ && isSpace(p[first])) ++first;
    while (last > first && isSpace(p[last - 1])) --last;
    if (first == last || p[first] != '{' || p[last - 1] == '}') return;
    p[len_++] = '}';  // the byte run() left for it
    patched_ = true;
  }
  static bool isSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

  // Where the string left open at the end of the input starts, or kNoItem
  // when the input does not end inside a string.
  size_t openStringStart() const {
    const char* p = buf_;
    bool in_string = false;
    size_t open = kNoItem;
    for (size_t i = 0; i < len_; ++i) {
      if (p[i] == '\\' && in_string) {
        ++i;
      } else if (p[i] == '"') {
        in_string = !in_string;
        if (in_string) open = i;
      }
    }
    return in_string ? open : kNoItem;
  }

  size_t offsetOf(const char* p) const { return static_cast<size_t>(p - buf_); }

  size_t location(od::document& doc) const {
    const char* p = nullptr;
    if (doc.current_location().get(p)) return size_;
    return std::min(offsetOf(p), size_);
  }

  Stop runPass() {
    od::document doc;
    if (!start(doc)) return Stop::kError;
    is_list_ = false;
    root_kind_.clear();
    root_api_.clear();
    if (type_known_) {
      if (type_.kind.empty() && !type_.has_items) {
        error_ = "neither kind nor items: not a Kubernetes object or list";
        return Stop::kError;
      }
      if (!type_.kind.empty() && !isListKind(type_.kind)) return single(doc);
      root_kind_ = type_.kind;
      root_api_ = type_.api_version;
    }

    od::object root;
    if (auto e = doc.get_object().get(root)) return notAnObject(doc, e);
    for (auto r : root) {
      od::field fld;
      std::string_view key;
      if (auto e = std::move(r).get(fld)) return broken(doc, e);
      if (auto e = fld.unescaped_key().get(key)) return broken(doc, e);
      od::value v = fld.value();
      if (key == "kind" || key == "apiVersion") {
        std::string& dst = key == "kind" ? root_kind_ : root_api_;
        if (type_known_) continue;
        if (!readString(v, dst)) {
          // In a truncated document that may be the added '}'.
          if (cut_ || patched_) return broken(doc, simdjson::TAPE_ERROR);
          error_ = std::string(key) + ": expected string";
          return Stop::kError;
        }
        if (key == "kind" && !is_list_ && !root_kind_.empty() && !isListKind(root_kind_)) {
          doc.rewind();
          return single(doc);
        }
      } else if (key == "items") {
        is_list_ = true;
        if (Stop s = items(doc, v); s != Stop::kDone) return s;
        if (!is_list_) return Stop::kDone;  // broke off inside the items
      } else if (!is_list_ && root_kind_.empty() && !type_known_ &&
                 (key == "metadata" || key == "spec" || key == "status")) {
        failed_at_ = 0;
        return Stop::kNeedType;
      }
    }
    if (!is_list_ && root_kind_.empty()) {
      error_ = "neither kind nor items: not a Kubernetes object or list";
      return Stop::kError;
    }
    if (isVelero(classifyKind(itemKind(), root_api_))) out_.velero_seen = true;
    trailing(doc);
    return Stop::kDone;
  }

  Stop notAnObject(od::document& doc, simdjson::error_code e) {
    od::json_type t;
    if (e == simdjson::INCORRECT_TYPE && !doc.type().get(t) && t == od::json_type::array) {
      error_ = "expected a JSON object at the top level, got an array";
    } else if (e == simdjson::INCORRECT_TYPE || e == simdjson::SCALAR_DOCUMENT_AS_VALUE) {
      error_ = "expected a JSON object at the top level";
    } else {
      error_ = std::string("not JSON: ") + simdjson::error_message(e);
    }
    return Stop::kError;
  }

  // The document broke off (or is malformed beyond what skipping can pass):
  // a list keeps what it decoded, anything else is rejected.
  Stop broken(od::document& doc, simdjson::error_code e, size_t item = kNoItem,
              size_t item_offset = 0) {
    size_t at = cut_ || patched_ ? size_ : location(doc);
    std::string why = cut_       ? "the input ends inside a string"
                      : patched_ ? "the input ends before the document does"
                                 : simdjson::error_message(e);
    if (!is_list_) {
      error_ = "document breaks off at byte " + std::to_string(at) + ": " + why;
      return Stop::kError;
    }
    std::string w;
    if (item != kNoItem) {
      w = "items[" + std::to_string(item) + "] at byte " + std::to_string(item_offset) + ": ";
    }
    w += "document breaks off at byte " + std::to_string(at) + " (" + why +
         "); the items before it are kept";
    out_.warnings.push_back(std::move(w));
    out_.partial = true;
    is_list_ = false;  // tells runPass to stop
    return Stop::kDone;
  }

  // After the top-level object: what follows it, if anything.
  void trailing(od::document& doc) {
    const char* p = nullptr;
    const bool at_end = doc.current_location().get(p) != simdjson::SUCCESS;
    if (at_end && patched_) {
      // The '}' patchEnd() added closed the document: only that was missing.
      out_.warnings.push_back("document breaks off at byte " + std::to_string(size_) +
                              " (its closing brace is missing)");
    } else if (!at_end || cut_) {
      out_.warnings.push_back("trailing content after the JSON document at byte " +
                              std::to_string(at_end ? cut_at_ : offsetOf(p)) + " ignored");
    } else {
      return;
    }
    out_.partial = true;
  }

  // A document that is one object.
  Stop single(od::document& doc) {
    if (spans_from_ == 0) {
      od::object o;
      std::string_view span;
      if (auto e = doc.get_object().get(o)) return notAnObject(doc, e);
      if (auto e = o.raw_json().get(span)) return broken(doc, e);
      if (endsAtPatch(doc)) return broken(doc, simdjson::INCOMPLETE_ARRAY_OR_OBJECT);
      decodeSpan(span, "document", "", "");
      trailing(doc);
      return Stop::kDone;
    }
    od::value v;
    if (auto e = doc.get_value().get(v)) return notAnObject(doc, e);
    Outcome o = d_.object(v, "", "", out_);
    if (o != Outcome::kDecoded && o != Outcome::kUnknownKind) {
      failed_at_ = 0;
      return Stop::kItemFailed;
    }
    if (endsAtPatch(doc)) {
      d_.abandon(out_);
      return broken(doc, simdjson::INCOMPLETE_ARRAY_OR_OBJECT);
    }
    counted(o);
    trailing(doc);
    return Stop::kDone;
  }

  // ---- list items -----------------------------------------------------------

  // The kind of items without their own: a typed list's kind minus "List".
  std::string_view itemKind() const {
    std::string_view k = root_kind_;
    if (!isListKind(k) || k == "List") return {};
    return k.substr(0, k.size() - 4);
  }

  Stop items(od::document& doc, od::value& v) {
    if (isVelero(classifyKind(itemKind(), root_api_))) out_.velero_seen = true;
    if (v.is_null()) return Stop::kDone;
    od::array a;
    if (auto e = v.get_array().get(a)) {
      if (e != simdjson::INCORRECT_TYPE || cut_ || patched_) return broken(doc, e);
      error_ = "items: expected array";
      return Stop::kError;
    }
    size_t i = 0;
    for (auto r : a) {
      od::value ev;
      if (auto e = r.get(ev)) return broken(doc, e, i, location(doc));
      if (i < skip_before_) {
        ++i;
        continue;
      }
      const std::string_view token = ev.raw_json_token();
      const size_t offset = offsetOf(token.data());
      if (token.empty() || token[0] == '}' || token[0] == ']' || token[0] == ',' ||
          token[0] == ':') {
        // No value where an item should be: what is left cannot be split into items.
        return broken(doc, simdjson::TAPE_ERROR, i, offset);
      }
      if (i >= spans_from_) {
        od::object o;
        std::string_view span;
        auto e = ev.get_object().get(o);
        const bool not_object = e == simdjson::INCORRECT_TYPE;
        if (!e) e = o.raw_json().get(span);
        if (not_object) {
          itemWarning("items[" + std::to_string(i) + "]",
                      ev.is_null() ? "expected object, got null" : "expected object");
        } else if (e) {
          return broken(doc, e, i, offset);
        } else if (endsAtPatch(doc)) {
          return broken(doc, simdjson::INCOMPLETE_ARRAY_OR_OBJECT, i, offset);
        } else {
          decodeSpan(span, "items[" + std::to_string(i) + "]", itemKind(), root_api_);
        }
      } else {
        d_.at(offset, size_);
        Outcome o = d_.object(ev, itemKind(), root_api_, out_);
        if (o == Outcome::kNoKind && !type_known_ && root_kind_.empty()) {
          // An item without kind before the list's kind (sorted keys).
          failed_at_ = i;
          return Stop::kNeedType;
        }
        if (o == Outcome::kNoKind || o == Outcome::kFailed) {
          failed_at_ = i;
          return Stop::kItemFailed;
        }
        if (endsAtPatch(doc)) {
          d_.abandon(out_);
          return broken(doc, simdjson::INCOMPLETE_ARRAY_OR_OBJECT, i, offset);
        }
        counted(o);
      }
      ++i;
    }
    return Stop::kDone;
  }

  // True when the item just read was closed by the '}' patchEnd() added (it
  // is the last token): the item broke off, its value is incomplete.
  bool endsAtPatch(od::document& doc) const {
    const char* p = nullptr;
    return patched_ && doc.current_location().get(p) == simdjson::OUT_OF_BOUNDS;
  }

  // Decodes one object from its own bytes (inside buf_, so padded).
  void decodeSpan(std::string_view span, const std::string& label, std::string_view def_kind,
                  std::string_view def_api) {
    const size_t capacity = static_cast<size_t>(buf_ + capacity_ - span.data());
    auto parse = [&](od::document& doc, od::value& v) -> bool {
      auto e = item_parser_.iterate(span.data(), span.size(), capacity).get(doc);
      if (!e) e = doc.get_value().get(v);
      if (e) itemWarning(label, simdjson::error_message(e));
      return !e;
    };
    od::document doc;
    od::value v;
    if (!parse(doc, v)) return;
    d_.at(offsetOf(span.data()), size_);
    Outcome o = d_.object(v, def_kind, def_api, out_);
    if (o == Outcome::kNoKind) {
      // The kind comes after fields that need it: find it, then decode again.
      TypeInfo t;
      if (!item_parser_.iterate(span.data(), span.size(), capacity).get(doc)) t = scanType(doc);
      if (t.kind.empty()) {
        itemWarning(label, "no kind, and the list does not name one");
        return;
      }
      if (!parse(doc, v)) return;
      o = d_.object(v, t.kind, t.api_version.empty() ? def_api : t.api_version, out_);
    }
    if (o == Outcome::kFailed) {
      itemWarning(label + " (" + d_.described() + ")", d_.describe());
      if (isVelero(d_.type())) out_.velero_seen = true;
      return;
    }
    if (o == Outcome::kNoKind) {
      itemWarning(label, "no kind, and the list does not name one");
      return;
    }
    counted(o);
  }

  // Gives back what ObjectDecoder::at() reserved beyond twice what came (a
  // kind followed by many bytes of others).
  void trimReserves() {
    auto trim = [](auto& v) {
      if (v.capacity() > 2 * v.size() + 64) v.shrink_to_fit();
    };
    trim(out_.nodes);
    trim(out_.pods);
    trim(out_.workloads);
    trim(out_.pdbs);
    trim(out_.hpas);
    trim(out_.services);
    trim(out_.namespaces);
    trim(out_.pvcs);
    trim(out_.pvs);
    trim(out_.velero_schedules);
    trim(out_.velero_backups);
    trim(out_.node_leases);
  }

  void itemWarning(const std::string& label, const std::string& why) {
    out_.warnings.push_back(label + ": " + why);
    ++out_.skipped;
    out_.partial = true;
  }

  void counted(Outcome o) {
    if (isVelero(d_.type())) out_.velero_seen = true;
    if (o != Outcome::kUnknownKind) return;
    std::string label = d_.kindName();
    // A known kind name in another API group (a Schedule that is not Velero's).
    if (classifyKind(label, "velero.io/v1") != ObjectKind::kUnknown) {
      label += " (" + d_.apiVersion() + ")";
    }
    for (auto& [name, n] : unknown_) {
      if (name == label) {
        ++n;
        return;
      }
    }
    unknown_.emplace_back(std::move(label), 1);
  }

  void flushUnknown() {
    for (const auto& [name, n] : unknown_) {
      out_.warnings.push_back(std::to_string(n) + (n == 1 ? " item" : " items") + " of kind " +
                              name + " skipped: not used by the engine");
      out_.skipped += n;
    }
  }

  Objects& out_;
  char* buf_ = nullptr;  // the input, then zeroes: copy_ or owned_
  CopyBuffer copy_;      // run(string_view)
  std::string owned_;    // run(string&&)
  size_t size_ = 0;      // of the input
  size_t capacity_ = 0;  // of buf_
  size_t len_ = 0;       // given to the parser (see start())
  bool prepared_ = false;
  bool cut_ = false;      // len_ was shortened to drop a string left open at the end
  size_t cut_at_ = 0;     // where
  bool patched_ = false;  // a '}' was added after len_ (and counted in it)
  od::parser parser_;
  od::parser item_parser_;
  ObjectDecoder<OnDemand> d_;

  TypeInfo type_;  // from scanType(), once a pass needed it
  bool type_known_ = false;
  std::string root_kind_;
  std::string root_api_;
  bool is_list_ = false;

  size_t skip_before_ = 0;  // items decoded by an earlier pass
  size_t spans_from_;       // items from here on are decoded from their spans
  size_t failed_at_ = 0;
  std::string error_;
  std::vector<std::pair<std::string, size_t>> unknown_;  // label, count; first seen first
};

template <class Json>
Result<void> decodeWith(Json&& json, Objects& out, ItemRecovery mode) {
  if (json.size() > simdjson::SIMDJSON_MAXSIZE_BYTES) {
    return fail(ErrorCode::kParse, std::string(kWhat) + "document of " +
                                       std::to_string(json.size()) +
                                       " bytes is over the 4 GiB limit of the JSON parser");
  }
  Mark mark(out);
  try {
    DumpDecoder dd(out, mode);
    Result<void> r = dd.run(std::forward<Json>(json));
    if (!r) mark.restore(out);
    return r;
  } catch (const std::exception& ex) {
    // std::bad_alloc on absurd input: never escape the API.
    mark.restore(out);
    return fail(ErrorCode::kParse, std::string(kWhat) + ex.what());
  }
}

}  // namespace

Result<void> decodeObjects(std::string_view json, Objects& out, ItemRecovery mode) {
  return decodeWith(json, out, mode);
}

Result<void> decodeObjects(std::string&& json, Objects& out, ItemRecovery mode) {
  return decodeWith(std::move(json), out, mode);
}

}  // namespace detail

Result<void> decodeObjects(std::string_view json, Objects& out) {
  return detail::decodeObjects(json, out, detail::ItemRecovery::kDirectThenSpans);
}

Result<void> decodeObjects(std::string&& json, Objects& out) {
  return detail::decodeObjects(std::move(json), out, detail::ItemRecovery::kDirectThenSpans);
}

}  // namespace rampart::k8s
