// simdjson On-Demand backend for the templated decoder (k8s_json_decode.h),
// and the padded, per-thread parser the production decoder runs on.
//
// Memory: each thread keeps one parser and one padded input buffer sized for
// the largest document seen, but gives both back after any document larger
// than kRetainBytes (64 KiB), so a 1 MB pod list costs its memory only while it is
// decoded and steady-state watch events (5-10 KB) reuse a small parser.
#pragma once

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "k8s_json_decode.h"

namespace rampart::k8s::detail {

struct OnDemand {
  using Value = simdjson::ondemand::value;

  static const char* msg(simdjson::error_code e, const char* incorrect_type) {
    return e == simdjson::INCORRECT_TYPE ? incorrect_type : simdjson::error_message(e);
  }

  static JsonKind kind(Value& v) {
    simdjson::ondemand::json_type t;
    if (v.type().get(t) != simdjson::SUCCESS) return JsonKind::kError;
    switch (t) {
      case simdjson::ondemand::json_type::array:
        return JsonKind::kArray;
      case simdjson::ondemand::json_type::object:
        return JsonKind::kObject;
      case simdjson::ondemand::json_type::number:
        return JsonKind::kNumber;
      case simdjson::ondemand::json_type::string:
        return JsonKind::kString;
      case simdjson::ondemand::json_type::boolean:
        return JsonKind::kBool;
      case simdjson::ondemand::json_type::null:
        return JsonKind::kNull;
    }
    return JsonKind::kError;
  }

  // The bytes between the quotes of a string token without escapes: what
  // get_string() would give, read in place instead of unescaped into the
  // parser's string buffer (for a dump of 300 MB, a couple of hundred MB of
  // fresh pages less). False for any other token.
  static bool plainString(const char* start, const char* end, std::string_view& out) {
    for (const char* p = start; p < end; ++p) {
      if (*p == '"') {
        out = std::string_view(start, static_cast<size_t>(p - start));
        return true;
      }
      if (*p == '\\') return false;
    }
    return false;
  }

  static const char* getString(Value& v, std::string_view& out) {
    // Peeks at the token without consuming it: the value is skipped as an
    // unread one when its parent moves on.
    const std::string_view token = v.raw_json_token();
    if (!token.empty() && token[0] == '"' &&
        plainString(token.data() + 1, token.data() + token.size(), out)) {
      return nullptr;
    }
    auto e = v.get_string().get(out);
    return e ? msg(e, "expected string") : nullptr;
  }
  static const char* getInt(Value& v, int64_t& out) {
    auto e = v.get_int64().get(out);
    return e ? msg(e, "expected integer") : nullptr;
  }
  static const char* getBool(Value& v, bool& out) {
    auto e = v.get_bool().get(out);
    return e ? msg(e, "expected boolean") : nullptr;
  }

  template <class F>
  static const char* fields(Value& v, F&& f) {
    simdjson::ondemand::object o;
    if (auto e = v.get_object().get(o)) return msg(e, "expected object");
    for (auto r : o) {
      simdjson::ondemand::field fld;
      if (auto e = std::move(r).get(fld)) return msg(e, "malformed object");
      std::string_view key;
      Value& value = fld.value();
      // The key ends before its value's token starts (after the ':').
      if (!plainString(fld.key().raw(), value.raw_json_token().data(), key)) {
        if (auto e = fld.unescaped_key().get(key)) return msg(e, "malformed key");
      }
      if (!f(key, value)) return kAbort;
    }
    return nullptr;
  }

  template <class F>
  static const char* elements(Value& v, F&& f) {
    simdjson::ondemand::array a;
    if (auto e = v.get_array().get(a)) return msg(e, "expected array");
    for (auto r : a) {
      Value ev;
      if (auto e = r.get(ev)) return msg(e, "malformed array");
      if (!f(ev)) return kAbort;
    }
    return nullptr;
  }
};

inline constexpr size_t kRetainBytes = size_t{64} << 10;

struct OnDemandSlot {
  simdjson::ondemand::parser parser;
  std::unique_ptr<char[]> buf;
  size_t cap = 0;
  bool busy = false;
};

// Parses `json` (copied into a padded buffer) and calls fn(root value) ->
// bool. Returns nullptr on success, kAbort when fn failed, or a message.
template <class F>
const char* parseOnDemand(std::string_view json, F&& fn) {
  static thread_local OnDemandSlot tls;
  OnDemandSlot local;  // only used on re-entry from within fn
  OnDemandSlot& s = tls.busy ? local : tls;
  const size_t need = json.size() + simdjson::SIMDJSON_PADDING;
  if (need > s.cap) {
    s.buf = std::make_unique<char[]>(need);
    s.cap = need;
  }
  std::memcpy(s.buf.get(), json.data(), json.size());
  std::memset(s.buf.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);

  struct Release {
    OnDemandSlot& s;
    ~Release() {
      s.busy = false;
      if (s.cap > kRetainBytes) {
        s.parser = simdjson::ondemand::parser{};
        s.buf.reset();
        s.cap = 0;
      }
    }
  } release{s};
  s.busy = true;

  simdjson::ondemand::document doc;
  if (auto e = s.parser.iterate(s.buf.get(), json.size(), s.cap).get(doc)) {
    return e == simdjson::EMPTY ? "empty document" : simdjson::error_message(e);
  }
  simdjson::ondemand::value root;
  if (auto e = doc.get_value().get(root)) {
    return e == simdjson::SCALAR_DOCUMENT_AS_VALUE ? "expected a JSON object"
                                                   : simdjson::error_message(e);
  }
  if (!fn(root)) return kAbort;
  auto loc = doc.current_location();
  if (loc.error() != simdjson::OUT_OF_BOUNDS) return "trailing content after the JSON document";
  return nullptr;
}

}  // namespace rampart::k8s::detail
