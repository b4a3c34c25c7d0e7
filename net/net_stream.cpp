#include "rampart/net_stream.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rampart/http_wire.h"

namespace rampart::net {
namespace {

// Long enough to keep idle watches cheap, short enough for a prompt stop.
constexpr std::chrono::milliseconds kStopPollSlice{250};

std::string opensslError(std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

// Waits for `events` on `fd`; kTimeout at the deadline or on stop.
Result<void> waitFd(int fd, short events, Clock::time_point deadline,
                    const std::atomic<bool>* stop) {
  for (;;) {
    if (stop != nullptr && stop->load()) return fail(ErrorCode::kTimeout, "stopped");
    auto now = Clock::now();
    if (now >= deadline) return fail(ErrorCode::kTimeout, "timed out");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                std::chrono::milliseconds(1);
    if (stop != nullptr) left = std::min(left, kStopPollSlice);
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR)
      return fail(ErrorCode::kNetwork, std::string("poll: ") + std::strerror(errno));
  }
}

// A socket BIO that sends with MSG_NOSIGNAL: a peer resetting the connection
// must surface as an error, not SIGPIPE, whatever the process's signal setup.
int bioWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  ssize_t n = ::send(fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bioRead(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b)));
  ssize_t n = ::recv(fd, data, static_cast<size_t>(len), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bioCtrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

// Made on first use and kept for the process: a method table, not state.
const BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rampart-socket");
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_ctrl(m, bioCtrl);
    BIO_meth_set_create(m, bioCreate);
    return m;
  }();
  return method;
}

Result<void> addCaPem(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
    ++added;
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (added == 0) return fail(ErrorCode::kConfig, "CA data holds no PEM certificate");
  return {};
}

Result<void> useCertPem(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    return fail(ErrorCode::kConfig, opensslError("client certificate"));
  }
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    SSL_CTX_add_extra_chain_cert(ctx, extra);  // takes ownership
  }
  ERR_clear_error();
  BIO_free(bio);
  return {};
}

Result<void> useKeyPem(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    EVP_PKEY_free(key);
    return fail(ErrorCode::kConfig, opensslError("client key"));
  }
  EVP_PKEY_free(key);
  return {};
}

Result<void> configure(SSL_CTX* ctx, const TlsOptions& o) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Bodies end by length or chunk framing; an EOF without close_notify after
  // that is not an attack on the data we use.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (o.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!o.ca_pem.empty()) {
      if (auto r = addCaPem(ctx, o.ca_pem); !r) return r;
    } else if (!o.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
        return fail(ErrorCode::kConfig, opensslError("CA file " + o.ca_file.string()));
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return fail(ErrorCode::kConfig, opensslError("system trust store"));
    }
  }
  if (!o.client_cert_pem.empty()) {
    if (auto r = useCertPem(ctx, o.client_cert_pem); !r) return r;
  } else if (!o.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.client_cert_file.c_str()) != 1)
      return fail(ErrorCode::kConfig,
                  opensslError("client certificate " + o.client_cert_file.string()));
  }
  if (!o.client_key_pem.empty()) {
    if (auto r = useKeyPem(ctx, o.client_key_pem); !r) return r;
  } else if (!o.client_key_file.empty()) {
    if (SSL_CTX_use_PrivateKey_file(ctx, o.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(ErrorCode::kConfig, opensslError("client key " + o.client_key_file.string()));
  }
  bool has_cert = !o.client_cert_pem.empty() || !o.client_cert_file.empty();
  bool has_key = !o.client_key_pem.empty() || !o.client_key_file.empty();
  if (has_cert != has_key)
    return fail(ErrorCode::kConfig, "a client certificate needs both certificate and key");
  if (has_cert && SSL_CTX_check_private_key(ctx) != 1)
    return fail(ErrorCode::kConfig, opensslError("client key does not match the certificate"));
  return {};
}

Result<int> connectTcp(const std::string& host, const std::string& port, Clock::time_point deadline,
                       const std::atomic<bool>* stop) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &addrs); rc != 0)
    return fail(ErrorCode::kNetwork, "resolve " + host + ": " + ::gai_strerror(rc));
  std::string last_error = "no address";
  Result<int> out = fail(ErrorCode::kNetwork, "");
  for (addrinfo* a = addrs; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      auto waited = waitFd(fd, POLLOUT, deadline, stop);
      if (!waited) {
        ::close(fd);
        out = std::unexpected(waited.error());
        break;  // timeout or stop applies to every address
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      out = fd;
      break;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(addrs);
  if (!out && out.error().message.empty())
    return fail(ErrorCode::kNetwork, "connect " + host + ":" + port + ": " + last_error);
  return out;
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::create(const TlsOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return fail(ErrorCode::kConfig, opensslError("SSL_CTX_new"));
  if (auto r = configure(ctx, options); !r) {
    SSL_CTX_free(ctx);
    return std::unexpected(r.error());
  }
  return std::unique_ptr<TlsContext>(new TlsContext(ctx, !options.insecure_skip_verify));
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<Stream>> Stream::connect(const std::string& host, const std::string& port,
                                                const TlsContext* tls, Clock::time_point deadline,
                                                std::chrono::milliseconds connect_timeout,
                                                const std::atomic<bool>* stop) {
  auto connect_deadline = std::min(deadline, Clock::now() + connect_timeout);
  auto fd = connectTcp(host, port, connect_deadline, stop);
  if (!fd) return std::unexpected(fd.error());
  if (tls == nullptr) return std::unique_ptr<Stream>(new Stream(*fd, nullptr));

  SSL* ssl = SSL_new(tls->native());
  BIO* bio = ssl != nullptr ? BIO_new(socketMethod()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl);
    ::close(*fd);
    return fail(ErrorCode::kNetwork, opensslError("SSL_new"));
  }
  // The BIO's data slot is a void*: the fd travels in it.
  // NOLINTNEXTLINE(performance-no-int-to-ptr)
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(*fd)));
  SSL_set_bio(ssl, bio, bio);
  std::unique_ptr<Stream> stream(new Stream(*fd, ssl));
  bool ip = http::isIpLiteral(host);
  if (!ip) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (tls->verifies()) {
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                : SSL_set1_host(ssl, host.c_str());
    if (ok != 1) return fail(ErrorCode::kNetwork, opensslError("TLS peer name " + host));
  }
  if (auto r = stream->handshake(deadline, stop); !r) return std::unexpected(r.error());
  return stream;
}

Stream::~Stream() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIO too
  ::close(fd_);
}

Result<void> Stream::handshake(Clock::time_point deadline, const std::atomic<bool>* stop) {
  for (;;) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) return {};
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      auto w = waitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, stop);
      if (!w) return w;
      continue;
    }
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      ERR_clear_error();
      return fail(ErrorCode::kNetwork, std::string("TLS certificate verification failed: ") +
                                           X509_verify_cert_error_string(verify));
    }
    return fail(ErrorCode::kNetwork, opensslError("TLS handshake failed"));
  }
}

Result<void> Stream::writeAll(std::string_view data, Clock::time_point deadline,
                              const std::atomic<bool>* stop) {
  while (!data.empty()) {
    if (ssl_ != nullptr) {
      size_t written = 0;
      if (SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1) {
        data.remove_prefix(written);
        continue;
      }
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        auto w = waitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, stop);
        if (!w) return w;
        continue;
      }
      return fail(ErrorCode::kNetwork, opensslError("TLS write"));
    }
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (auto w = waitFd(fd_, POLLOUT, deadline, stop); !w) return w;
    } else {
      return fail(ErrorCode::kNetwork, std::string("send: ") + std::strerror(errno));
    }
  }
  return {};
}

Result<size_t> Stream::readSome(char* buf, size_t n, Clock::time_point deadline,
                                const std::atomic<bool>* stop) {
  for (;;) {
    if (ssl_ != nullptr) {
      size_t got = 0;
      if (SSL_read_ex(ssl_, buf, n, &got) == 1) return got;
      int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        auto w = waitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, stop);
        if (!w) return std::unexpected(w.error());
        continue;
      }
      if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return fail(ErrorCode::kNetwork, std::string("TLS read: ") + std::strerror(errno));
      return fail(ErrorCode::kNetwork, opensslError("TLS read"));
    }
    ssize_t got = ::recv(fd_, buf, n, 0);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (auto w = waitFd(fd_, POLLIN, deadline, stop); !w) return std::unexpected(w.error());
      continue;
    }
    return fail(ErrorCode::kNetwork, std::string("recv: ") + std::strerror(errno));
  }
}

void exclusiveListenOptions(int fd) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

Result<Listener> listenTcp(const std::string& host, uint16_t port, int backlog, bool nonblocking) {
  const std::string where =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port_text = std::to_string(port);
  if (int rc =
          ::getaddrinfo(host.empty() ? "0.0.0.0" : host.c_str(), port_text.c_str(), &hints, &res);
      rc != 0) {
    return fail(ErrorCode::kConfig, "cannot listen on " + where + ": " + gai_strerror(rc) +
                                        " (a numeric address is expected)");
  }
  const int fd =
      ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd >= 0) exclusiveListenOptions(fd);
  const bool ok =
      fd >= 0 && ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 && ::listen(fd, backlog) == 0;
  const int err = errno;
  ::freeaddrinfo(res);
  if (!ok) {
    if (fd >= 0) ::close(fd);
    return fail(ErrorCode::kConfig, "cannot listen on " + where + ": " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const uint16_t bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return Listener{fd, bound_port};
}

}  // namespace rampart::net
