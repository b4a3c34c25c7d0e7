// etcd and API-server health probing (docs/etcd.md).
//
// Pure half: parsers of what etcd answers (GET /health, POST
// /v3/maintenance/status, POST /v3/cluster/member/list, GET /metrics), the
// window of leader-change counter samples, and observe(), which turns one
// round of answers into the engine's EtcdObservation. I/O half: a small
// HTTP(S) client (TLS with optional CA and client certificate), the per-
// endpoint probe, and the snapshot-age readers.
//
// Facts designed by (etcd 3.4, recorded in tests/data/etcd/): 64-bit numbers
// are JSON strings ("member_id":"1201..."); zero and false fields are
// omitted (no "leader" without a leader); /health answers 503
// {"health":"false"} without a leader; the member list still lists dead
// members.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/engine.h"
#include "rampart/error.h"

namespace rampart::etcd {

// A decimal member id as etcd's JSON gives it ("12014127833235774591", or a
// number) in hex as etcdctl prints it ("a6ba4c4ba1c8d57f"). kParse otherwise.
Result<std::string> hexId(std::string_view decimal);

struct Health {
  bool healthy = false;
  std::string reason;  // etcd 3.5+ may say why; empty otherwise
};
// /health's answer: 200 and 503 carry {"health":"true"|"false"}; anything
// else (another status, HTML, broken JSON) is an error saying what came.
Result<Health> parseHealth(int http_status, std::string_view body);

struct Status {
  std::string member_id;  // hex
  std::string leader_id;  // hex; empty when the member knows no leader
  std::string version;
  uint64_t raft_term = 0;
  std::vector<std::string> errors;  // e.g. "etcdserver: no leader"
};
Result<Status> parseStatus(std::string_view body);

struct Member {
  std::string id;  // hex
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool learner = false;
};
// The members, in the order etcd lists them.
Result<std::vector<Member>> parseMemberList(std::string_view body);

struct MetricsSample {
  std::optional<bool> has_leader;        // etcd_server_has_leader
  std::optional<double> leader_changes;  // etcd_server_leader_changes_seen_total
};
// Prometheus text format; other families are skipped. kParse when the text
// holds neither family (an HTML page, a proxy's error).
Result<MetricsSample> parseMetrics(std::string_view text);

// One endpoint's answers in one round; a request that failed leaves its
// field empty and says why in its error.
struct EndpointProbe {
  std::string endpoint;
  std::optional<Health> health;
  std::string health_error;
  std::optional<Status> status;
  std::string status_error;
  std::optional<std::vector<Member>> members;
  std::string members_error;
  std::optional<MetricsSample> metrics;
  std::string metrics_error;
  int errors = 0;  // failed requests (transport, HTTP status, parse)
  // The member process answered something (etcd, not a proxy's error page).
  bool answered() const { return health.has_value() || status.has_value(); }
  // The first error, for a message.
  std::string firstError() const;
};

// The leader-change counters' samples of the last `window`, per member; a
// counter that goes down (member restarted) counts from 0 again.
// Not thread-safe.
class LeaderChangeWindow {
 public:
  explicit LeaderChangeWindow(std::chrono::seconds window) : window_(window) {}
  void add(const std::string& member, int64_t now_ms, double counter);
  // The most leader changes one member saw within the window ending at now_ms
  // (samples older than the window are dropped, but the newest of them is
  // kept as the baseline of the first change).
  int32_t changes(int64_t now_ms);
  std::chrono::seconds window() const { return window_; }

 private:
  struct Sample {
    int64_t at_ms;
    double value;
  };
  std::chrono::seconds window_;
  std::map<std::string, std::deque<Sample>> samples_;
};

// What the prober remembers between rounds: which member id each endpoint
// answered with, and the last member list (so that a fully dead cluster
// still reports its members).
struct ProbeMemory {
  std::map<std::string, std::string> id_of_endpoint;
  std::vector<Member> members;
};

// Turns one round into an observation (members, leader; the leader window,
// snapshot and API-server fields are the caller's). Pure.
//  - the member list is the first answering endpoint's (else memory's); no
//    list ever: one member per endpoint, id from memory;
//  - each member is matched to its endpoint by the member id it answered
//    with (or remembered), else by its client URLs;
//  - a member is healthy when its endpoint answers and /health says true,
//    or says false while no member sees a leader (it is alive: the lost
//    leader is etcd.no-leader's, not the member's); down otherwise;
//  - has_leader: some healthy member's status names a leader (and its
//    etcd_server_has_leader is not 0); leader_id: the id most of them name.
engine::EtcdObservation observe(const std::vector<EndpointProbe>& probes, ProbeMemory& memory);

// Client URLs of listed members that no probe covers (by id or URL): the
// prober probes these too, so that every member is checked at its own
// endpoint.
std::vector<std::string> unprobedMemberUrls(const std::vector<EndpointProbe>& probes,
                                            const ProbeMemory& memory);

// ---- I/O ----

struct TlsFiles {
  std::filesystem::path ca_file;    // empty: the system trust store
  std::filesystem::path cert_file;  // client certificate (with key_file)
  std::filesystem::path key_file;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One request per connection (Connection: close). Thread-compatible.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // `url` is the endpoint plus path; a non-empty `body` is sent as JSON.
  // Any HTTP status is an answer; transport failures are kNetwork/kTimeout.
  virtual Result<HttpAnswer> request(std::string_view method, const std::string& url,
                                     std::string_view body, std::chrono::milliseconds timeout) = 0;
};
// kConfig when a certificate or key cannot be loaded.
Result<std::unique_ptr<HttpClient>> makeHttpClient(const TlsFiles& tls);

// GET /health, POST /v3/maintenance/status, POST /v3/cluster/member/list,
// GET /metrics on `endpoint` (each within `timeout`); stops at the first
// transport failure (a dead or hung member costs one timeout, not four).
EndpointProbe probeEndpoint(HttpClient& client, const std::string& endpoint,
                            std::chrono::milliseconds timeout);

// Snapshot age: the newest regular file's mtime in `dir` (nullopt: none),
// or `marker`'s mtime (nullopt: missing). kIo when unreadable.
Result<std::optional<int64_t>> newestFileMtime(const std::filesystem::path& dir);
Result<std::optional<int64_t>> fileMtime(const std::filesystem::path& marker);

}  // namespace rampart::etcd
