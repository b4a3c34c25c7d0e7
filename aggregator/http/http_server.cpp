#include "http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>

#include "rampart/net_stream.h"

namespace rampart::aggregator {
namespace {

using std::chrono::milliseconds;

int64_t nowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Conn {
  int fd = -1;
  std::string peer;
  int peer_port = 0;
  std::string buf;  // received and not yet consumed
  RequestHead head;
  int64_t deadline_ms = 0;
  bool idle = false;  // kept alive, no byte of the next request yet
};
using ConnPtr = std::unique_ptr<Conn>;

// An address as text, and its port.
std::string addressText(const sockaddr_storage& addr, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  }
  return text;
}

// httplib's request handling (parse, route, respond) over a stream we give it.
class Router : public httplib::Server {
 public:
  bool serve(httplib::Stream& stream, bool close, bool& closed) {
    return process_request(stream, close, closed, nullptr);
  }
};

// A connection whose head the reader already holds: its bytes first, then
// the socket, each wait bounded by the pause limit, the total deadline and
// the server's stop.
class ConnStream : public httplib::Stream {
 public:
  ConnStream(Conn& conn, int stop_fd, milliseconds pause, int64_t deadline_ms)
      : conn_(conn), stop_fd_(stop_fd), pause_ms_(pause.count()), deadline_ms_(deadline_ms) {}

  bool is_readable() const override { return pos_ < conn_.buf.size() || wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ < conn_.buf.size()) {
      const size_t n = std::min(size, conn_.buf.size() - pos_);
      std::memcpy(ptr, conn_.buf.data() + pos_, n);
      pos_ += n;
      return static_cast<ssize_t>(n);
    }
    while (true) {
      const ssize_t n = ::recv(conn_.fd, ptr, size, 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLIN)) return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::send(conn_.fd, ptr + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLOUT)) return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.peer;
    port = conn_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    port = 0;
    if (::getsockname(conn_.fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      ip = addressText(addr, port);
    }
  }
  socket_t socket() const override { return conn_.fd; }

  bool timedOut() const { return timed_out_; }
  // What the handler did not read (a pipelined next request).
  std::string leftover() const { return conn_.buf.substr(std::min(pos_, conn_.buf.size())); }

 private:
  bool wait(short events) const {
    const int64_t left = deadline_ms_ - nowMs();
    const int64_t ms = std::min(pause_ms_, left);
    if (ms <= 0) {
      timed_out_ = true;
      return false;
    }
    pollfd fds[2] = {{conn_.fd, events, 0}, {stop_fd_, POLLIN, 0}};
    int rc = 0;
    do {
      rc = ::poll(fds, 2, static_cast<int>(ms));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) timed_out_ = true;
    if (rc <= 0 || (fds[1].revents & POLLIN) != 0) return false;
    return (fds[0].revents & (events | POLLHUP | POLLERR)) != 0;
  }

  Conn& conn_;
  int stop_fd_;
  int64_t pause_ms_;
  int64_t deadline_ms_;
  size_t pos_ = 0;
  mutable bool timed_out_ = false;
};

// Workers over a bounded queue of connections with complete heads.
class Pool {
 public:
  Pool(size_t threads, size_t capacity, std::function<void(ConnPtr)> work,
       std::function<void(ConnPtr)> discard)
      : capacity_(capacity), work_(std::move(work)), discard_(std::move(discard)) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Pool() { stop(); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // False (and `conn` kept) when the queue is full.
  bool push(ConnPtr& conn) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(conn));
    }
    cv_.notify_one();
    return true;
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::deque<ConnPtr> left;
    {
      std::lock_guard lock(mu_);
      left.swap(queue_);
    }
    for (auto& c : left) discard_(std::move(c));
  }

 private:
  void run() {
    while (true) {
      ConnPtr conn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        conn = std::move(queue_.front());
        queue_.pop_front();
      }
      work_(std::move(conn));
    }
  }

  size_t capacity_;
  std::function<void(ConnPtr)> work_;
  std::function<void(ConnPtr)> discard_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ConnPtr> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// A short JSON answer sent once without waiting (the socket is non-blocking):
// a peer that does not read it loses it.
void refuse(int fd, int status, std::string_view phrase, std::string_view why) {
  const std::string body = "{\"error\":\"" + std::string(why) + "\"}\n";
  const std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  [[maybe_unused]] auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions o;
  RefusedCounter on_refused;
  Router router;
  int listen_fd = -1;
  int wake_fd = -1;  // the reader's: connections came back from workers, or stop
  int stop_fd = -1;  // written once at stop and never read: wakes every wait
  std::atomic<bool> stopping{false};
  std::thread reader;
  std::unique_ptr<Pool> api, probes;

  std::mutex mu;  // guards the counts and `returned`
  std::map<std::string, size_t> per_peer;
  size_t open = 0;
  std::vector<ConnPtr> returned;

  std::list<ConnPtr> waiting;  // the reader's: waiting for a head, oldest first

  void count(std::string_view reason) {
    if (on_refused) on_refused(reason);
  }

  void closeConn(ConnPtr conn) {
    ::close(conn->fd);
    std::lock_guard lock(mu);
    --open;
    if (auto it = per_peer.find(conn->peer); it != per_peer.end() && --it->second == 0) {
      per_peer.erase(it);
    }
  }

  void wake() const {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void serve(ConnPtr conn) {
    ConnStream stream(*conn, stop_fd, o.io_timeout, nowMs() + o.io_total_timeout.count());
    const bool close = !conn->head.keep_alive || stopping.load();
    bool closed = false;
    const bool ok = router.serve(stream, close, closed);
    if (stream.timedOut()) count("io_timeout");
    if (!ok || close || closed || stream.timedOut() || stopping.load()) {
      closeConn(std::move(conn));
      return;
    }
    conn->buf = stream.leftover();
    conn->idle = conn->buf.empty();
    conn->deadline_ms = nowMs() + (conn->idle ? o.keep_alive_timeout : o.head_timeout).count();
    {
      std::lock_guard lock(mu);
      returned.push_back(std::move(conn));
    }
    wake();
  }

  // The head is complete, refused, or still coming. True when `conn` left
  // the reader (handed to a worker or closed).
  bool examine(ConnPtr& conn) {
    auto head = parseRequestHead(conn->buf, o.head);
    if (!head) {
      const std::string_view reason = head.error().reason;
      count(reason);
      if (reason == "bad_request") {
        refuse(conn->fd, 400, "Bad Request", "malformed request head");
      } else {
        refuse(conn->fd, 431, "Request Header Fields Too Large",
               std::string(reason == "too_many_headers" ? "too many request headers"
                                                        : "request head too large"));
      }
      closeConn(std::move(conn));
      return true;
    }
    if (!*head) return false;
    conn->head = std::move(**head);
    const bool probe = std::find(o.probe_paths.begin(), o.probe_paths.end(), conn->head.path) !=
                       o.probe_paths.end();
    if (!(probe ? probes : api)->push(conn)) {
      count("busy");
      refuse(conn->fd, 503, "Service Unavailable", "every worker is busy; retry");
      closeConn(std::move(conn));
    }
    return true;
  }

  // Reads what arrived; true when `conn` left the reader.
  bool readSome(ConnPtr& conn, int64_t now) {
    char buf[4096];
    const ssize_t n = ::recv(conn->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (n <= 0) {
      closeConn(std::move(conn));
      return true;
    }
    if (conn->idle) {
      conn->idle = false;
      conn->deadline_ms = now + o.head_timeout.count();
    }
    const std::string_view got(buf, static_cast<size_t>(n));
    conn->buf.append(got);
    // A head ends at a line end: parse only when one arrived (or it cannot
    // fit any more), so a byte-at-a-time sender costs one scan per line.
    if (got.find('\n') == std::string_view::npos && conn->buf.size() < o.head.max_bytes) {
      return false;
    }
    return examine(conn);
  }

  // Makes room for a new connection from `peer`: false when it must be
  // refused (every connection of the cap is with a worker).
  bool admit(const std::string& peer) {
    std::string_view reason;
    {
      std::lock_guard lock(mu);
      if (open >= o.max_connections) {
        reason = "max_connections";
      } else if (auto it = per_peer.find(peer);
                 it != per_peer.end() && it->second >= o.max_connections_per_peer) {
        reason = "max_connections_per_peer";
      } else {
        ++open;
        ++per_peer[peer];
        return true;
      }
    }
    count(reason);
    const bool any_peer = reason == "max_connections";
    auto victim = std::find_if(waiting.begin(), waiting.end(),
                               [&](const ConnPtr& c) { return any_peer || c->peer == peer; });
    if (victim == waiting.end()) return false;
    closeConn(std::move(*victim));
    waiting.erase(victim);
    std::lock_guard lock(mu);
    ++open;
    ++per_peer[peer];
    return true;
  }

  void acceptAll(int64_t now) {
    while (true) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors: the next poll retries
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      conn->peer = addressText(addr, conn->peer_port);
      if (!admit(conn->peer)) {
        refuse(fd, 503, "Service Unavailable", "too many connections");
        ::close(fd);
        continue;
      }
      conn->deadline_ms = now + o.head_timeout.count();
      waiting.push_back(std::move(conn));
    }
  }

  void expire(int64_t now) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      if ((*it)->deadline_ms > now) {
        ++it;
        continue;
      }
      if (!(*it)->idle) {
        count("head_timeout");
        refuse((*it)->fd, 408, "Request Timeout", "request head not complete in time");
      }
      closeConn(std::move(*it));
      it = waiting.erase(it);
    }
  }

  void adoptReturned() {
    std::vector<ConnPtr> back;
    {
      std::lock_guard lock(mu);
      back.swap(returned);
    }
    for (auto& c : back) {
      // A pipelined request may be complete already.
      if (!c->buf.empty() && examine(c)) continue;
      waiting.push_back(std::move(c));
    }
  }

  void run() {
    std::vector<pollfd> fds;
    std::vector<std::list<ConnPtr>::iterator> polled;
    while (!stopping.load()) {
      adoptReturned();
      fds.assign({{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}});
      polled.clear();
      int64_t next = nowMs() + 1000;
      for (auto it = waiting.begin(); it != waiting.end(); ++it) {
        fds.push_back({(*it)->fd, POLLIN, 0});
        polled.push_back(it);
        next = std::min(next, (*it)->deadline_ms);
      }
      const int rc =
          ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(next - nowMs(), 0)));
      if (rc < 0 && errno != EINTR) return;
      const int64_t now = nowMs();
      if ((fds[1].revents & POLLIN) != 0) {
        uint64_t value = 0;
        [[maybe_unused]] auto n = ::read(wake_fd, &value, sizeof value);
      }
      for (size_t i = 0; i < polled.size(); ++i) {
        if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        if (readSome(*polled[i], now)) waiting.erase(polled[i]);
      }
      expire(now);
      if ((fds[0].revents & POLLIN) != 0) acceptAll(now);
    }
    for (auto& c : waiting) closeConn(std::move(c));
    waiting.clear();
  }
};

HttpServer::HttpServer(HttpServerOptions options, RefusedCounter on_refused)
    : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->on_refused = std::move(on_refused);
}

HttpServer::~HttpServer() {
  stop();
}

httplib::Server& HttpServer::routes() {
  return impl_->router;
}

Result<int> HttpServer::start() {
  Impl& s = *impl_;
  auto listener = net::listenTcp(s.o.host, static_cast<uint16_t>(s.o.port), 128, true);
  if (!listener) return std::unexpected(listener.error());
  s.listen_fd = listener->fd;
  s.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s.wake_fd < 0 || s.stop_fd < 0) {
    return fail(ErrorCode::kConfig, std::string("http server: eventfd: ") + std::strerror(errno));
  }
  s.router.set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(s.o.keep_alive_timeout).count());
  auto work = [&s](ConnPtr c) { s.serve(std::move(c)); };
  auto discard = [&s](ConnPtr c) { s.closeConn(std::move(c)); };
  s.api = std::make_unique<Pool>(s.o.api_threads, s.o.queue_per_pool, work, discard);
  s.probes = std::make_unique<Pool>(s.o.probe_threads, s.o.queue_per_pool, work, discard);
  s.reader = std::thread([&s] { s.run(); });
  return listener->port;
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  if (s.stop_fd >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(s.stop_fd, &one, sizeof one);
  }
  if (s.wake_fd >= 0) s.wake();
  if (s.reader.joinable()) s.reader.join();
  if (s.api) s.api->stop();
  if (s.probes) s.probes->stop();
  // Connections a worker handed back after the reader stopped.
  std::vector<ConnPtr> back;
  {
    std::lock_guard lock(s.mu);
    back.swap(s.returned);
  }
  for (auto& c : back) s.closeConn(std::move(c));
  for (int* fd : {&s.listen_fd, &s.wake_fd, &s.stop_fd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

}  // namespace rampart::aggregator
