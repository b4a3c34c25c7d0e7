#include "rampart/http_wire.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "rampart/text.h"

namespace rampart::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<ServerUrl> parseServerUrl(std::string_view url) {
  ServerUrl out;
  std::string_view rest;
  if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return fail(ErrorCode::kConfig,
                "server URL must start with http:// or https://: " + std::string(url));
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    out.path_prefix = std::string(prefix);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    return fail(ErrorCode::kConfig, "server URL must not carry user info");
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail(ErrorCode::kConfig, "unterminated IPv6 address in " + std::string(url));
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail(ErrorCode::kConfig, "bad server URL: " + std::string(url));
      port = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty())
    return fail(ErrorCode::kConfig, "no host in server URL " + std::string(url));
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else if (isDigits(port) && port.size() <= 5) {
    out.port = std::string(port);
  } else {
    return fail(ErrorCode::kConfig, "bad port in server URL " + std::string(url));
  }
  return out;
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string formatRequest(const ServerUrl& server, const Request& request) {
  std::string host =
      server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host;
  bool default_port = server.port == (server.tls ? "443" : "80");
  std::string req;
  req.reserve(256 + request.path.size() + request.bearer_token.size() + request.body.size());
  req.append(request.method).append(" ").append(server.path_prefix).append(request.path);
  req.append(" HTTP/1.1\r\nHost: ").append(host);
  if (!default_port) req.append(":").append(server.port);
  req.append("\r\nUser-Agent: ").append(request.user_agent);
  req.append("\r\nAccept: ").append(request.accept).append("\r\n");
  if (!request.bearer_token.empty())
    req.append("Authorization: Bearer ").append(request.bearer_token).append("\r\n");
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.append("Content-Type: ").append(request.content_type).append("\r\n");
    req.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  req.append("Connection: close\r\n\r\n");
  req.append(request.body);
  return req;
}

std::optional<std::pair<size_t, size_t>> findHeadEnd(std::string_view buf) {
  if (size_t end = buf.find("\r\n\r\n"); end != std::string_view::npos) return std::pair{end, 4};
  if (size_t end = buf.find("\n\n"); end != std::string_view::npos) return std::pair{end, 2};
  return std::nullopt;
}

Result<ResponseHead> parseResponseHead(std::string_view head) {
  ResponseHead out;
  auto eol = head.find('\n');
  std::string_view status_line = trim(head.substr(0, eol));
  // HTTP/1.x SP 3DIGIT [SP reason]; the first digit is the class, 1 to 5 in use: 0 is
  // none (and a status of 0 would read as "no answer" to callers).
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
      !isDigits(status_line.substr(9, 3)) || status_line[9] == '0' ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return fail(ErrorCode::kProtocol,
                "bad HTTP status line: " + std::string(status_line.substr(0, 80)));
  }
  out.status =
      (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 1);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return fail(ErrorCode::kProtocol, "bad HTTP header line: " + std::string(line.substr(0, 80)));
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Transfer-Encoding")) {
      // The last coding is the one that frames the message.
      auto comma = value.rfind(',');
      std::string_view last =
          trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
      out.chunked = iequals(last, "chunked");
    } else if (iequals(name, "Content-Length")) {
      size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size())
        return fail(ErrorCode::kProtocol, "bad Content-Length: " + std::string(value));
      out.content_length = n;
    }
  }
  if (out.chunked) out.content_length.reset();  // RFC 9112 6.3: chunked wins
  return out;
}

Result<void> ChunkedDecoder::feed(std::string_view in, std::string& out) {
  while (!in.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kSize:
      case State::kTrailer: {
        auto nl = in.find('\n');
        line_.append(in.substr(0, nl));
        if (line_.size() > 4096) return fail(ErrorCode::kProtocol, "chunk header line too long");
        if (nl == std::string_view::npos) return {};
        in.remove_prefix(nl + 1);
        std::string_view line = trim(line_);
        if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
          line_.clear();
          break;
        }
        line = line.substr(0, line.find(';'));  // chunk extensions
        line = trim(line);
        size_t size = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (line.empty() || ec != std::errc() || p != line.data() + line.size())
          return fail(ErrorCode::kProtocol, "bad chunk size: " + std::string(line.substr(0, 40)));
        line_.clear();
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        size_t n = std::min(remaining_, in.size());
        out.append(in.substr(0, n));
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        // CRLF after the chunk data (a bare LF is tolerated).
        char c = in.front();
        in.remove_prefix(1);
        if (c == '\n') {
          state_ = State::kSize;
        } else if (c != '\r') {
          return fail(ErrorCode::kProtocol, "missing CRLF after chunk data");
        }
        break;
      }
      case State::kDone:
        break;
    }
  }
  return {};
}

LineSplitter::Feed LineSplitter::feed(std::string_view in,
                                      const std::function<bool(std::string_view)>& on_line) {
  while (!in.empty()) {
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) {
      line_.append(in);
      return line_.size() > max_line_ ? Feed::kTooLong : Feed::kMore;
    }
    line_.append(in.substr(0, nl));
    in.remove_prefix(nl + 1);
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (!line_.empty() && !on_line(line_)) return Feed::kStopped;
    line_.clear();
  }
  return Feed::kMore;
}

}  // namespace rampart::http
