#include "rampart/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "rampart/files.h"
#include "rampart/text.h"

namespace rampart {
namespace {

// Calls `fn(line_number, trimmed_line)` for every line that is neither blank
// nor a # comment; stops at the first error `fn` returns.
Result<void> forEachLine(const std::string& text,
                         const std::function<Result<void>(int, std::string)>& fn) {
  std::istringstream lines(text);
  std::string line;
  int lineno = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    std::string t(trim(line));
    if (t.empty() || t[0] == '#') continue;
    if (auto r = fn(lineno, std::move(t)); !r) return r;
  }
  return {};
}

}  // namespace

bool isZ85Key(std::string_view key) {
  if (key.size() != 40) return false;
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  for (char c : key) {
    if (kZ85.find(c) == std::string_view::npos) return false;
  }
  return true;
}

Result<CurveKeyPair> generateCurveKeyPair() {
  char pub[41] = {};
  char sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return fail(ErrorCode::kConfig, std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{pub, sec};
}

Result<void> writeKeyFile(const std::filesystem::path& path, const CurveKeyPair& keys,
                          bool include_secret) {
  std::string body = "# Rampart CURVE key (ZeroMQ Z85)\npublic=" + keys.public_key + "\n";
  if (include_secret) body += "secret=" + keys.secret_key + "\n";
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, include_secret ? 0600 : 0644);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create " + path.string());
  if (include_secret) ::fchmod(fd, 0600);
  ssize_t n = ::write(fd, body.data(), body.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(body.size())) {
    return fail(ErrorCode::kIo, "short write to " + path.string());
  }
  return {};
}

Result<CurveKeyPair> readKeyFile(const std::filesystem::path& path, bool require_secret) {
  auto text = readFile(path);
  if (!text) return std::unexpected(text.error());
  CurveKeyPair keys;
  auto parsed = forEachLine(*text, [&](int lineno, const std::string& t) -> Result<void> {
    auto eq = t.find('=');
    // Z85 itself contains '=', so split on the first one only.
    std::string key(eq == std::string::npos ? "" : trim(t.substr(0, eq)));
    std::string value(eq == std::string::npos ? "" : trim(t.substr(eq + 1)));
    if (key == "public") {
      keys.public_key = value;
    } else if (key == "secret") {
      keys.secret_key = value;
    } else {
      return fail(ErrorCode::kConfig, path.string() + ":" + std::to_string(lineno) +
                                          ": expected public=<key> or secret=<key>");
    }
    return {};
  });
  if (!parsed) return std::unexpected(parsed.error());
  if (!isZ85Key(keys.public_key)) {
    return fail(ErrorCode::kConfig, path.string() + ": no valid public key (40 Z85 characters)");
  }
  if (require_secret && !isZ85Key(keys.secret_key)) {
    return fail(ErrorCode::kConfig, path.string() + ": no valid secret key (40 Z85 characters)");
  }
  return keys;
}

Result<std::string> resolvePublicKey(const std::string& key_or_path) {
  if (isZ85Key(key_or_path) && !std::filesystem::exists(key_or_path)) return key_or_path;
  auto keys = readKeyFile(key_or_path, false);
  if (!keys) return std::unexpected(keys.error());
  return keys->public_key;
}

Result<KeyAllowlist> readAllowlist(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      // Kubernetes Secret volumes hold ..data symlinks and dot-dirs: skip them.
      if (entry.path().filename().string().starts_with(".")) continue;
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  KeyAllowlist allow;
  for (const auto& file : files) {
    auto text = readFile(file);
    if (!text) return std::unexpected(text.error());
    auto parsed = forEachLine(*text, [&](int lineno, std::string t) -> Result<void> {
      if (t.starts_with("secret=")) return {};
      if (t.starts_with("public=")) t = std::string(trim(t.substr(7)));
      std::string key = t.substr(0, std::min(t.size(), size_t{40}));
      std::string name(trim(t.size() > 40 ? t.substr(40) : ""));
      if (!isZ85Key(key) || (t.size() > 40 && !std::isspace(static_cast<unsigned char>(t[40])))) {
        return fail(ErrorCode::kConfig, file.string() + ":" + std::to_string(lineno) +
                                            ": not a Z85 public key (40 characters)");
      }
      allow[key] = name.empty() ? key : name;
      return {};
    });
    if (!parsed) return std::unexpected(parsed.error());
  }
  if (allow.empty()) return fail(ErrorCode::kConfig, path.string() + ": no public keys");
  return allow;
}

ZapAuthenticator::ZapAuthenticator(zmq::context_t& context, KeyAllowlist allowlist,
                                   DeniedCallback on_denied)
    : socket_(context, zmq::socket_type::rep),
      allowlist_(std::move(allowlist)),
      on_denied_(std::move(on_denied)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { run(); });
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  thread_.join();
}

void ZapAuthenticator::run() {
  while (!stop_) {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if ((items[0].revents & ZMQ_POLLIN) == 0) continue;
      std::vector<zmq::message_t> frames;
      while (true) {
        zmq::message_t frame;
        if (!socket_.recv(frame, zmq::recv_flags::none)) break;
        bool more = frame.more();
        frames.push_back(std::move(frame));
        if (!more) break;
      }
      // version, request id, domain, address, identity, mechanism, credentials...
      std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
      std::string address = frames.size() > 3 ? frames[3].to_string() : "";
      std::string mechanism = frames.size() > 5 ? frames[5].to_string() : "";
      std::string key_z85;
      if (mechanism == "CURVE" && frames.size() > 6 && frames[6].size() == 32) {
        char buf[41] = {};
        zmq_z85_encode(buf, static_cast<const uint8_t*>(frames[6].data()), 32);
        key_z85 = buf;
      }
      auto it = allowlist_.find(key_z85);
      bool ok = frames.size() >= 6 && frames[0].to_string() == "1.0" && it != allowlist_.end();
      if (ok) {
        ++allowed_;
      } else {
        ++denied_;
        if (on_denied_) on_denied_(address, key_z85);
      }
      std::string code = ok ? "200" : "400";
      std::string text = ok ? "OK" : "public key not allowed";
      std::string user = ok ? it->second : "";
      socket_.send(zmq::buffer(std::string_view("1.0")), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(code), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(user), zmq::send_flags::sndmore);
      socket_.send(zmq::str_buffer(""), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      // A malformed ZAP exchange leaves the REP socket mid-conversation; the next
      // request resets it. Nothing else to do here.
    }
  }
}

}  // namespace rampart
