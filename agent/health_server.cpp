#include "health_server.h"

#include "rampart/net_stream.h"
#include "rampart/text.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace rampart::agent {

int64_t stallLimitMs(int64_t interval_ms) {
  return std::max<int64_t>(10 * interval_ms, 30'000);
}

HealthVerdict judgeHealth(const HealthInputs& in) {
  HealthVerdict v;
  const int64_t since = in.last_interval_ms > 0 ? in.last_interval_ms : in.started_ms;
  const int64_t stalled_ms = std::max<int64_t>(in.now_ms - since, 0);
  const int64_t limit = stallLimitMs(in.interval_ms);
  v.live = stalled_ms <= limit;
  v.ready = v.live && in.pods_synced && in.intervals > 0;
  if (!v.live) {
    v.reason = (in.last_interval_ms > 0 ? "no reporting interval completed for "
                                        : "no reporting interval completed since the start, ") +
               std::to_string(stalled_ms) + " ms (limit " + std::to_string(limit) + " ms)";
  } else if (!in.pods_synced) {
    v.reason = "the node's pods have not been listed from the API server yet";
  } else if (in.intervals == 0) {
    v.reason = "no reporting interval completed yet";
  }
  nlohmann::json body = {
      {"live", v.live},
      {"ready", v.ready},
      {"intervals", in.intervals},
      {"last_interval_age_ms",
       in.last_interval_ms > 0 ? nlohmann::json(in.now_ms - in.last_interval_ms) : nullptr},
      {"stall_limit_ms", limit},
      {"pods_synced", in.pods_synced},
      {"aggregator_links", in.links},
      {"aggregator_links_connected", in.links_connected},
  };
  if (!v.reason.empty()) body["reason"] = v.reason;
  v.json = body.dump() + "\n";
  return v;
}

namespace {

// Reads the request head (up to 4 KiB) and answers one GET; anything else is
// 400, 404 or 405. The socket has a 2 s receive and send timeout.
void answer(int fd, const std::function<HealthInputs()>& inputs) {
  std::string head;
  char buf[1024];
  while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos &&
         head.find("\n\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  int status = 400;
  std::string body = "{\"error\":\"bad request\"}\n";
  size_t eol = head.find_first_of("\r\n");
  std::string line = head.substr(0, eol == std::string::npos ? head.size() : eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 != std::string::npos && line.compare(sp2 + 1, 5, "HTTP/") == 0) {
    std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (target != "/healthz" && target != "/readyz") {
      status = 404;
      body = "{\"error\":\"not found: /healthz or /readyz\"}\n";
    } else if (method != "GET" && method != "HEAD") {
      status = 405;
      body = "{\"error\":\"method not allowed\"}\n";
    } else {
      HealthVerdict v = judgeHealth(inputs());
      status = (target == "/readyz" ? v.ready : v.live) ? 200 : 503;
      body = method == "HEAD" ? std::string() : v.json;
    }
  }
  const char* reason = status == 200   ? "OK"
                       : status == 503 ? "Service Unavailable"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                                       : "Bad Request";
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::start(const std::string& listen,
                                                          std::function<HealthInputs()> inputs,
                                                          const Logger& log) {
  auto address = splitHostPort(listen);
  if (!address) {
    return fail(ErrorCode::kConfig, "--health-listen " + listen + ": must be HOST:PORT");
  }
  const std::string host = address->host.empty() ? "0.0.0.0" : address->host;
  auto listener = net::listenTcp(host, address->port, 8, false);
  if (!listener) return fail(ErrorCode::kConfig, "--health-listen: " + listener.error().message);
  std::unique_ptr<HealthServer> hs(new HealthServer());
  hs->inputs_ = std::move(inputs);
  hs->listen_fd_ = listener->fd;
  hs->port_ = listener->port;
  hs->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (hs->wake_fd_ < 0) {
    return fail(ErrorCode::kConfig,
                std::string("health endpoint: eventfd: ") + std::strerror(errno));
  }
  hs->thread_ = std::thread([s = hs.get()] { s->serve(); });
  log->info("health endpoint on {}:{} (/healthz, /readyz)", host, hs->port_);
  return hs;
}

void HealthServer::serve() {
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (stop_.load() || (fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    answer(conn, inputs_);
    ::close(conn);
  }
}

HealthServer::~HealthServer() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HealthServer::stop() {
  stop_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace rampart::agent
