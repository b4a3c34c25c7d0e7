#include "rampart/http_client.h"

#include <algorithm>
#include <optional>

namespace rampart::http {
namespace {

std::string mib(size_t bytes) {
  return bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                 : std::to_string(bytes) + " bytes";
}

}  // namespace

Result<Response> readResponse(net::Stream& stream, bool head_request,
                              const ExchangeOptions& options) {
  std::string buf;
  char chunk[16384];
  auto read_more = [&]() -> Result<size_t> {
    auto n = stream.readSome(chunk, sizeof chunk, options.deadline, options.stop);
    if (n) buf.append(chunk, *n);
    return n;
  };

  // Head, skipping interim 1xx answers.
  ResponseHead head;
  for (;;) {
    if (auto end = findHeadEnd(buf)) {
      auto parsed = parseResponseHead(std::string_view(buf).substr(0, end->first));
      if (!parsed) return std::unexpected(parsed.error());
      buf.erase(0, end->first + end->second);
      if (parsed->status >= 100 && parsed->status < 200) continue;
      head = *parsed;
      break;
    }
    if (buf.size() > options.max_head) return fail(ErrorCode::kProtocol, "response head too long");
    auto n = read_more();
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return fail(ErrorCode::kNetwork, "connection closed before a response");
  }

  Response response;
  response.status = head.status;
  if (options.head_only || head_request || head.status == 204 || head.status == 304) {
    return response;
  }
  const bool streaming = options.sink != nullptr && head.status >= 200 && head.status < 300;
  auto deliver = [&](std::string_view data) -> Result<void> {
    if (data.empty()) return {};
    if (streaming) {
      if (!(*options.sink)(data)) response.sink_stopped = true;
      return {};
    }
    if (response.body.size() + data.size() > options.max_body)
      return fail(ErrorCode::kProtocol, "response body larger than " + mib(options.max_body));
    response.body.append(data);
    return {};
  };

  ChunkedDecoder chunked;
  std::string decoded;
  std::optional<size_t> remaining = head.content_length;
  for (;;) {
    if (head.chunked) {
      decoded.clear();
      if (auto r = chunked.feed(buf, decoded); !r) return std::unexpected(r.error());
      buf.clear();
      if (auto r = deliver(decoded); !r) return std::unexpected(r.error());
      if (chunked.done() || response.sink_stopped) return response;
    } else if (remaining) {
      const size_t take = std::min(*remaining, buf.size());
      if (auto r = deliver(std::string_view(buf).substr(0, take)); !r)
        return std::unexpected(r.error());
      buf.clear();
      *remaining -= take;
      if (*remaining == 0 || response.sink_stopped) return response;
    } else {
      if (auto r = deliver(buf); !r) return std::unexpected(r.error());
      buf.clear();
      if (response.sink_stopped) return response;
    }
    auto n = read_more();
    if (!n) return std::unexpected(n.error());
    if (*n == 0) {
      if (!head.chunked && !remaining) return response;  // delimited by the close
      return fail(ErrorCode::kNetwork, "connection closed in the middle of the body");
    }
  }
}

Result<Response> exchange(const ServerUrl& server, const net::TlsContext* tls,
                          const Request& request, const ExchangeOptions& options) {
  if (server.tls && tls == nullptr)
    return fail(ErrorCode::kConfig, "https server without a TLS context");
  auto stream = net::Stream::connect(server.host, server.port, server.tls ? tls : nullptr,
                                     options.deadline, options.connect_timeout, options.stop);
  if (!stream) return std::unexpected(stream.error());
  if (auto w = (*stream)->writeAll(formatRequest(server, request), options.deadline, options.stop);
      !w)
    return std::unexpected(w.error());
  return readResponse(**stream, request.method == "HEAD", options);
}

}  // namespace rampart::http
