#include "http/request_head.h"

#include <algorithm>

namespace rampart::aggregator {
namespace {

// RFC 9110 token characters (methods, header names).
bool tokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), tokenChar);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated `list` holds `token` (case-insensitive).
bool listHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (equalsIgnoreCase(trimSpaces(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

auto badRequest(std::string message) {
  auto e = fail(ErrorCode::kParse, std::move(message));
  e.error().reason = "bad_request";
  return e;
}

Result<void> requestLine(std::string_view line, RequestHead& head, bool& http10) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return badRequest("request line is not METHOD TARGET VERSION");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return badRequest("request method is not a token");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      })) {
    return badRequest("request target is empty or has control characters");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return badRequest("not HTTP/1.0 or 1.1");
  http10 = version == "HTTP/1.0";
  head.method = std::string(method);
  head.path = std::string(target.substr(0, target.find('?')));
  return {};
}

}  // namespace

Result<std::optional<RequestHead>> parseRequestHead(std::string_view buffer,
                                                    const RequestHeadLimits& limits) {
  RequestHead head;
  bool http10 = false;
  bool seen_line = false;
  bool conn_close = false, conn_keep_alive = false;
  bool transfer_encoding = false;
  size_t pos = 0;
  while (true) {
    const size_t nl = buffer.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (buffer.size() >= limits.max_bytes) {
        return failLimit("head_too_large",
                         "request head longer than " + std::to_string(limits.max_bytes) + " bytes");
      }
      return std::nullopt;
    }
    if (nl + 1 > limits.max_bytes) {
      return failLimit("head_too_large",
                       "request head longer than " + std::to_string(limits.max_bytes) + " bytes");
    }
    std::string_view line = buffer.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (!seen_line) {
      // RFC 9112 2.2: empty lines before the request line are ignored.
      if (line.empty()) continue;
      if (auto r = requestLine(line, head, http10); !r) return std::unexpected(r.error());
      seen_line = true;
      continue;
    }
    if (line.empty()) break;
    if (++head.headers > limits.max_headers) {
      return failLimit("too_many_headers",
                       "more than " + std::to_string(limits.max_headers) + " request headers");
    }
    if (line.front() == ' ' || line.front() == '\t') return badRequest("obsolete header folding");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
      return badRequest("header line is not NAME: VALUE");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimSpaces(line.substr(colon + 1));
    if (equalsIgnoreCase(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        return badRequest("Content-Length is not a decimal number");
      }
      const size_t length = std::stoull(std::string(value));
      if (head.content_length && *head.content_length != length) {
        return badRequest("two different Content-Length headers");
      }
      head.content_length = length;
    } else if (equalsIgnoreCase(name, "Transfer-Encoding")) {
      transfer_encoding = true;
      head.chunked = equalsIgnoreCase(value, "chunked");
      if (!head.chunked) return badRequest("Transfer-Encoding other than chunked");
    } else if (equalsIgnoreCase(name, "Connection")) {
      conn_close = conn_close || listHas(value, "close");
      conn_keep_alive = conn_keep_alive || listHas(value, "keep-alive");
    }
  }
  // RFC 9112 6.3: both framings at once is how requests are smuggled.
  if (transfer_encoding && head.content_length) {
    return badRequest("both Content-Length and Transfer-Encoding");
  }
  head.keep_alive = http10 ? conn_keep_alive && !conn_close : !conn_close;
  head.size = pos;
  return head;
}

}  // namespace rampart::aggregator
