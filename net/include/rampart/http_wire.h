// HTTP/1.1 client-side wire format, pure (no I/O): the API server URL, the
// request head, the response head, and chunked transfer decoding.
//
// The connection lives in net_stream.h, the exchange over it in http_client.h.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "rampart/error.h"

namespace rampart::http {

struct ServerUrl {
  bool tls = false;
  std::string host;         // without IPv6 brackets
  std::string port;         // "443" / "80" when the URL has none
  std::string path_prefix;  // "" or "/some/prefix" (no trailing slash)
};

// Parses http://HOST[:PORT][/PREFIX] or https://...; IPv6 hosts in brackets.
Result<ServerUrl> parseServerUrl(std::string_view url);

// True when `host` is an IPv4 or IPv6 literal (no SNI, IP SAN verification).
bool isIpLiteral(const std::string& host);

struct Request {
  std::string method = "GET";
  std::string path = "/";  // origin form with the query, after the server's path prefix
  std::string user_agent;
  std::string accept = "application/json";
  std::string bearer_token;                       // Authorization: Bearer when not empty
  std::string content_type = "application/json";  // sent with a body
  std::string body;
};

// "METHOD PREFIX+PATH HTTP/1.1" with Host (and the port unless it is the
// scheme's default), User-Agent, Accept, Authorization: Bearer (when there is
// a token), Content-Type and Content-Length (when there is a body, or the
// method is POST or PUT), Connection: close; then the body.
std::string formatRequest(const ServerUrl& server, const Request& request);

struct ResponseHead {
  int status = 0;
  bool chunked = false;
  std::optional<size_t> content_length;
};

// Where the head of a response in `buf` ends: the offset of its blank line and
// that line's length (CRLF CRLF: 4, or bare LF LF from lenient servers: 2).
// nullopt while the head is incomplete.
std::optional<std::pair<size_t, size_t>> findHeadEnd(std::string_view buf);

// Parses a response head: status line and headers, up to (excluding) the
// blank line. Unknown headers are ignored.
Result<ResponseHead> parseResponseHead(std::string_view head);

// Incremental decoder for Transfer-Encoding: chunked. Feed it bytes as they
// arrive; the payload is appended to `out`. Chunk extensions and trailers
// are skipped.
class ChunkedDecoder {
 public:
  // Consumes all of `in`; kParse on malformed framing.
  Result<void> feed(std::string_view in, std::string& out);
  // The terminating zero-size chunk and its trailer section have been seen.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;  // partial size or trailer line
  size_t remaining_ = 0;
};

// Splits a byte stream into lines (a watch stream: one JSON event a line).
// Feed it bytes as they arrive; every complete line, without its LF or CRLF,
// goes to `on_line` (empty lines are skipped), which returns false to stop.
// A partial line is kept until its LF: the splitter holds at most about
// `max_line` bytes plus one `feed`'s data.
class LineSplitter {
 public:
  enum class Feed { kMore, kStopped, kTooLong };
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}
  // kStopped when `on_line` returned false, kTooLong when a partial line grew
  // past max_line (the stream must be abandoned); both leave the rest of
  // `in` unread.
  Feed feed(std::string_view in, const std::function<bool(std::string_view)>& on_line);

 private:
  size_t max_line_;
  std::string line_;
};

}  // namespace rampart::http
