// The etcd prober's parsers and I/O (etcd/etcd.h). HTTP goes through the one
// exchange every client uses (rampart/http_client.h, TLS through OpenSSL).
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "etcd/etcd.h"
#include "rampart/http_client.h"

namespace rampart::etcd {
namespace {

using nlohmann::json;

constexpr size_t kMaxBody = 8u << 20;
constexpr size_t kMaxHead = 64u << 10;

// What came instead of the expected JSON, for an error message.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 80)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (body.size() > 80) out += "...";
  return out.empty() ? "an empty body" : "\"" + out + "\"";
}

Result<json> parseObject(std::string_view body, std::string_view what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::kParse, std::string(what) + ": not a JSON object: " + excerpt(body));
  }
  return j;
}

// etcd's 64-bit numbers: JSON strings, numbers from other gateways.
Result<uint64_t> unsignedField(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  return fail(ErrorCode::kParse, "not an unsigned number: " + j.dump());
}

std::string toHex(uint64_t v) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  return std::string(buf, end);
}

Result<std::string> idField(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::string();  // zero is omitted
  auto v = unsignedField(*it);
  if (!v) return fail(ErrorCode::kParse, std::string(key) + ": " + v.error().message);
  return *v == 0 ? std::string() : toHex(*v);
}

std::vector<std::string> stringList(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const json& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::string> hexId(std::string_view decimal) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(decimal.data(), decimal.data() + decimal.size(), v);
  if (decimal.empty() || ec != std::errc() || end != decimal.data() + decimal.size()) {
    return fail(ErrorCode::kParse, "not a member id: " + std::string(decimal));
  }
  return toHex(v);
}

Result<Health> parseHealth(int http_status, std::string_view body) {
  if (http_status != 200 && http_status != 503) {
    return fail(ErrorCode::kHttp,
                "/health: HTTP " + std::to_string(http_status) + ": " + excerpt(body), http_status);
  }
  auto j = parseObject(body, "/health");
  if (!j) return std::unexpected(j.error());
  auto it = j->find("health");
  if (it == j->end() || !it->is_string() || (*it != "true" && *it != "false")) {
    return fail(ErrorCode::kParse, "/health: no \"health\":\"true|false\" in " + excerpt(body));
  }
  Health h;
  h.healthy = *it == "true";
  if (auto r = j->find("reason"); r != j->end() && r->is_string()) h.reason = r->get<std::string>();
  return h;
}

Result<Status> parseStatus(std::string_view body) {
  auto j = parseObject(body, "/v3/maintenance/status");
  if (!j) return std::unexpected(j.error());
  auto header = j->find("header");
  if (header == j->end() || !header->is_object()) {
    return fail(ErrorCode::kParse, "/v3/maintenance/status: no header in " + excerpt(body));
  }
  Status s;
  auto member = idField(*header, "member_id");
  auto leader = idField(*j, "leader");
  if (!member || !leader) {
    return fail(ErrorCode::kParse,
                "/v3/maintenance/status: " + (member ? leader.error() : member.error()).message);
  }
  if (member->empty()) {
    return fail(ErrorCode::kParse, "/v3/maintenance/status: no header.member_id");
  }
  s.member_id = *member;
  s.leader_id = *leader;
  if (auto v = j->find("version"); v != j->end() && v->is_string())
    s.version = v->get<std::string>();
  if (auto t = j->find("raftTerm"); t != j->end()) {
    if (auto v = unsignedField(*t); v) s.raft_term = *v;
  }
  s.errors = stringList(*j, "errors");
  return s;
}

Result<std::vector<Member>> parseMemberList(std::string_view body) {
  auto j = parseObject(body, "/v3/cluster/member/list");
  if (!j) return std::unexpected(j.error());
  auto list = j->find("members");
  if (list == j->end() || !list->is_array()) {
    return fail(ErrorCode::kParse, "/v3/cluster/member/list: no members in " + excerpt(body));
  }
  std::vector<Member> out;
  for (const json& m : *list) {
    if (!m.is_object())
      return fail(ErrorCode::kParse, "/v3/cluster/member/list: a non-object member");
    auto id = idField(m, "ID");
    if (!id || id->empty()) {
      return fail(ErrorCode::kParse, "/v3/cluster/member/list: a member without a valid ID");
    }
    Member member;
    member.id = *id;
    if (auto n = m.find("name"); n != m.end() && n->is_string())
      member.name = n->get<std::string>();
    member.peer_urls = stringList(m, "peerURLs");
    member.client_urls = stringList(m, "clientURLs");
    if (auto l = m.find("isLearner"); l != m.end() && l->is_boolean())
      member.learner = l->get<bool>();
    out.push_back(std::move(member));
  }
  return out;
}

Result<MetricsSample> parseMetrics(std::string_view text) {
  MetricsSample out;
  auto value = [](std::string_view rest) -> std::optional<double> {
    // "NAME VALUE [TIMESTAMP]" without labels; the value may be 1, 1e+00, NaN.
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::string v(rest.substr(0, rest.find(' ')));
    if (v.empty()) return std::nullopt;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size()) return std::nullopt;
    return d;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    for (std::string_view name : {std::string_view("etcd_server_has_leader"),
                                  std::string_view("etcd_server_leader_changes_seen_total")}) {
      if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ' ') {
        continue;
      }
      auto v = value(line.substr(name.size()));
      if (!v) return fail(ErrorCode::kParse, "/metrics: bad sample: " + std::string(line));
      if (name == "etcd_server_has_leader") {
        out.has_leader = *v != 0;
      } else {
        out.leader_changes = *v;
      }
    }
  }
  if (!out.has_leader && !out.leader_changes) {
    return fail(ErrorCode::kParse,
                "/metrics: neither etcd_server_has_leader nor "
                "etcd_server_leader_changes_seen_total in " +
                    excerpt(text));
  }
  return out;
}

std::string EndpointProbe::firstError() const {
  for (const std::string* e : {&health_error, &status_error, &members_error, &metrics_error}) {
    if (!e->empty()) return *e;
  }
  return "";
}

namespace {

class StreamHttpClient final : public HttpClient {
 public:
  explicit StreamHttpClient(std::unique_ptr<net::TlsContext> tls) : tls_(std::move(tls)) {}

  Result<HttpAnswer> request(std::string_view method, const std::string& url, std::string_view body,
                             std::chrono::milliseconds timeout) override {
    auto where = [&](const Error& e) {
      return std::unexpected(Error{e.code, url + ": " + e.message, e.http_status});
    };
    // The endpoint plus path: split at the first '/' after the scheme's "//".
    size_t host_start = url.find("//");
    size_t path_start = url.find('/', host_start == std::string::npos ? 0 : host_start + 2);
    std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
    auto server = http::parseServerUrl(base);
    if (!server) return where(server.error());
    if (server->tls && !tls_) {
      return where(Error{ErrorCode::kConfig, "https endpoint without a TLS context", 0});
    }
    http::Request request;
    request.method = std::string(method);
    request.path = path_start == std::string::npos ? "/" : url.substr(path_start);
    request.user_agent = "rampart-aggregator/" RAMPART_VERSION;
    request.accept = "*/*";
    request.body = std::string(body);
    http::ExchangeOptions options;
    options.deadline = net::Clock::now() + timeout;
    options.connect_timeout = timeout;
    options.max_head = kMaxHead;
    options.max_body = kMaxBody;
    auto response = http::exchange(*server, tls_.get(), request, options);
    if (!response) return where(response.error());
    return HttpAnswer{response->status, std::move(response->body)};
  }

 private:
  std::unique_ptr<net::TlsContext> tls_;
};

bool transportFailure(const Error& e) {
  return e.code == ErrorCode::kNetwork || e.code == ErrorCode::kTimeout ||
         e.code == ErrorCode::kConfig;
}

}  // namespace

Result<std::unique_ptr<HttpClient>> makeHttpClient(const TlsFiles& tls) {
  net::TlsOptions o;
  o.ca_file = tls.ca_file;
  o.client_cert_file = tls.cert_file;
  o.client_key_file = tls.key_file;
  auto ctx = net::TlsContext::create(o);
  if (!ctx) return std::unexpected(ctx.error());
  return std::unique_ptr<HttpClient>(new StreamHttpClient(std::move(*ctx)));
}

EndpointProbe probeEndpoint(HttpClient& client, const std::string& endpoint,
                            std::chrono::milliseconds timeout) {
  EndpointProbe p;
  p.endpoint = endpoint;
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();

  // Each step: the request, then its parser; false = stop probing (transport).
  auto step = [&](std::string_view method, const char* path, std::string_view body, auto parse,
                  auto& field, std::string& error) {
    auto answer = client.request(method, base + path, body, timeout);
    if (!answer) {
      error = answer.error().message;
      ++p.errors;
      return !transportFailure(answer.error());
    }
    auto parsed = parse(*answer);
    if (!parsed) {
      error = parsed.error().message;
      ++p.errors;
      return true;
    }
    field = std::move(*parsed);
    return true;
  };
  auto ok_body = [](const char* what, auto parser) {
    return [what, parser](const HttpAnswer& a) -> decltype(parser(std::string_view())) {
      if (a.status != 200) {
        return fail(
            ErrorCode::kHttp,
            std::string(what) + ": HTTP " + std::to_string(a.status) + ": " + excerpt(a.body),
            a.status);
      }
      return parser(a.body);
    };
  };
  if (!step(
          "GET", "/health", "", [](const HttpAnswer& a) { return parseHealth(a.status, a.body); },
          p.health, p.health_error)) {
    return p;
  }
  if (!step("POST", "/v3/maintenance/status", "{}",
            ok_body("/v3/maintenance/status", [](std::string_view b) { return parseStatus(b); }),
            p.status, p.status_error)) {
    return p;
  }
  if (!step(
          "POST", "/v3/cluster/member/list", "{}",
          ok_body("/v3/cluster/member/list", [](std::string_view b) { return parseMemberList(b); }),
          p.members, p.members_error)) {
    return p;
  }
  step("GET", "/metrics", "",
       ok_body("/metrics", [](std::string_view b) { return parseMetrics(b); }), p.metrics,
       p.metrics_error);
  return p;
}

Result<std::optional<int64_t>> newestFileMtime(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot list " + dir.string() + ": " + ec.message());
  std::optional<int64_t> newest;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return fail(ErrorCode::kIo, "cannot list " + dir.string() + ": " + ec.message());
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // A snapshot still being written ends in .part (etcdctl) and is skipped.
    if (it->path().extension() == ".part") continue;
    newest = std::max<int64_t>(newest.value_or(st.st_mtim.tv_sec), st.st_mtim.tv_sec);
  }
  return newest;
}

Result<std::optional<int64_t>> fileMtime(const std::filesystem::path& marker) {
  struct stat st {};
  if (::stat(marker.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<int64_t>();
    return fail(ErrorCode::kIo, "cannot stat " + marker.string() + ": " + std::strerror(errno));
  }
  return std::optional<int64_t>(st.st_mtim.tv_sec);
}

}  // namespace rampart::etcd
