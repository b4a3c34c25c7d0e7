#include "api/api_server.h"

#include <algorithm>
#include <ctime>

#include <httplib.h>

#include "api/api_views.h"
#include "rampart/net_stream.h"

namespace rampart::kubesim {
namespace {

constexpr const char* kJson = "application/json";
// Not "application/json": httplib would gzip the stream for clients that
// accept it and hold events back in the compressor.
constexpr const char* kWatchJson = "application/json;stream=watch";

void sendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void sendStatus(httplib::Response& res, int code, const std::string& message,
                const Json& details = Json()) {
  sendJson(res, code, statusBody(code, message, details));
}

Json withKind(Resource resource, const Json& object) {
  const ResourceType& type = resourceType(resource);
  Json out{{"kind", type.kind}, {"apiVersion", type.apiVersion()}};
  for (const auto& [k, v] : object.items()) out[k] = v;
  return out;
}

bool wantsTable(const httplib::Request& req) {
  return req.get_header_value("Accept").find("as=Table") != std::string::npos;
}

bool truthy(const std::string& value) {
  return value == "1" || value == "true";
}

int64_t wallClock() {
  return static_cast<int64_t>(std::time(nullptr));
}

struct WatchState {
  WatchCursor cursor;
  std::chrono::steady_clock::time_point deadline;
  bool bookmarks = false;
  std::chrono::steady_clock::time_point next_bookmark;
  std::string bookmark_kind;
  std::string bookmark_api_version;
};

}  // namespace

ApiServer::ApiServer(Cluster& cluster, ServerOptions options)
    : cluster_(cluster),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()) {
  const size_t threads = std::max<size_t>(options_.threads, 8);
  // httplib owns the queue it gets from this factory.
  server_->new_task_queue = [threads] {
    // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): httplib's factory hands ownership over.
    return new httplib::ThreadPool(threads);
  };
  server_->set_socket_options(rampart::net::exclusiveListenOptions);
  server_->set_keep_alive_max_count(1000);
  server_->set_keep_alive_timeout(30);
  if (options_.logger) {
    auto logger = options_.logger;
    server_->set_logger([logger](const httplib::Request& req, const httplib::Response& res) {
      logger->debug("{} {}{}{} -> {}", req.method, req.path, req.params.empty() ? "" : "?",
                    req.params.empty() ? "" : httplib::detail::params_to_query_str(req.params),
                    res.status);
    });
  }
  installRoutes();
}

ApiServer::~ApiServer() {
  stop();
}

Result<int> ApiServer::bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) return fail(ErrorCode::kNetwork, "cannot bind " + options_.host + ":0");
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return fail(ErrorCode::kNetwork,
                  "cannot bind " + options_.host + ":" + std::to_string(options_.port));
    }
    port_ = options_.port;
  }
  return port_;
}

void ApiServer::run() {
  server_->listen_after_bind();
}

bool ApiServer::running() const {
  return server_->is_running();
}

void ApiServer::stop() {
  cluster_.shutdown();
  server_->stop();
}

void ApiServer::installRoutes() {
  // Wraps an API handler with the injected-failure faults. `garbage` tells
  // the handler to answer broken JSON; plain bodies are truncated here.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, bool garbage)>;
  auto api = [this](const Handler& fn) {
    return [this, fn](const httplib::Request& req, httplib::Response& res) {
      auto failure = cluster_.takeApiFailure(req.path);
      if (failure && !failure->garbage) {
        sendStatus(
            res, failure->status,
            "kubesim: injected failure (api-error fault), HTTP " + std::to_string(failure->status));
        return;
      }
      const bool garbage = failure.has_value();
      fn(req, res, garbage);
      if (garbage && !res.body.empty()) {
        res.body.resize(std::max<size_t>(1, res.body.size() / 2));
        res.status = 200;
      }
    };
  };

  server_->Get("/version",
               api([](const auto&, auto& res, bool) { sendJson(res, 200, versionInfo()); }));
  server_->Get("/api", api([this](const auto&, auto& res, bool) {
                 sendJson(res, 200, apiVersions(options_.host + ":" + std::to_string(port_)));
               }));
  server_->Get("/apis", api([this](const auto&, auto& res, bool) {
                 sendJson(res, 200, apiGroupList(cluster_.serves(Resource::kVeleroBackups)));
               }));
  server_->Get("/api/v1", api([](const auto&, auto& res, bool) {
                 sendJson(res, 200, *apiResourceList("", "v1"));
               }));
  server_->Get(R"(/apis/([^/]+)/([^/]+))", api([this](const auto& req, auto& res, bool) {
                 auto list = apiResourceList(req.matches[1], req.matches[2],
                                             cluster_.serves(Resource::kVeleroBackups));
                 if (!list) {
                   sendStatus(res, 404, "the server could not find the requested resource");
                   return;
                 }
                 sendJson(res, 200, *list);
               }));
  server_->Get("/_kubesim/state",
               [this](const auto&, auto& res) { sendJson(res, 200, cluster_.state()); });
  server_->Get("/healthz", [](const auto&, auto& res) { res.set_content("ok", "text/plain"); });
  server_->Get("/readyz", [](const auto&, auto& res) { res.set_content("ok", "text/plain"); });
  server_->Post("/_kubesim/faults", [this](const httplib::Request& req, httplib::Response& res) {
    Json body;
    try {
      body = Json::parse(req.body);
    } catch (const Json::exception& e) {
      sendJson(res, 400, Json{{"ok", false}, {"error", std::string("invalid JSON: ") + e.what()}});
      return;
    }
    auto result = cluster_.applyFault(body);
    if (!result) {
      const int status = result.error().http_status ? result.error().http_status : 400;
      sendJson(res, status, Json{{"ok", false}, {"error", result.error().message}});
      return;
    }
    if (options_.logger) options_.logger->info("fault applied: {}", body.dump());
    Json out{{"ok", true}};
    for (const auto& [k, v] : result->items()) out[k] = v;
    sendJson(res, 200, out);
  });

  server_->Get(
      ".*", api([this](const httplib::Request& req, httplib::Response& res, bool garbage) {
        auto path = parseApiPath(req.path);
        if (path && path->subresource == "scale" && cluster_.serves(path->resource)) {
          WriteResult scale = cluster_.getScale(path->resource, path->ns, path->name);
          sendJson(res, scale.status, scale.body);
          return;
        }
        if (!path || !path->subresource.empty() || !cluster_.serves(path->resource)) {
          sendStatus(res, 404, "the server could not find the requested resource");
          return;
        }
        const ResourceType& type = resourceType(path->resource);
        const auto query = parseQuery(req.target);
        auto param = [&query](const char* key) {
          auto it = query.find(key);
          return it == query.end() ? std::string() : it->second;
        };
        const bool table = wantsTable(req);
        const TableObjects include = parseIncludeObject(param("includeObject"));
        if (!path->name.empty()) {
          auto obj = cluster_.get(path->resource, path->ns, path->name);
          if (!obj) {
            sendStatus(res, 404, std::string(type.plural) + " \"" + path->name + "\" not found",
                       Json{{"name", path->name}, {"kind", type.plural}});
            return;
          }
          if (table) {
            sendJson(
                res, 200,
                buildTable(path->resource, {*obj}, (*obj)["metadata"].value("resourceVersion", ""),
                           include, wallClock()));
          } else {
            sendJson(res, 200, withKind(path->resource, *obj));
          }
          return;
        }
        auto labels = LabelQuery::parse(param("labelSelector"));
        if (!labels) {
          sendStatus(res, 400, labels.error().message);
          return;
        }
        auto fields = FieldQuery::parse(param("fieldSelector"), type.field_selectors);
        if (!fields) {
          sendStatus(res, 400, fields.error().message);
          return;
        }
        if (truthy(param("watch"))) {
          if (garbage) {
            res.set_content("{\"type\":\"ADDED\",\"object\":{\"kind\":\"" + std::string(type.kind) +
                                "\",\"metadata\":{\"name\":\n",
                            kWatchJson);
            return;
          }
          WatchRequest wr{path->resource, path->ns, std::move(*labels), std::move(*fields),
                          param("resourceVersion")};
          auto cursor = cluster_.watch(std::move(wr));
          if (!cursor) {
            if (cursor.error().http_status == 410) {
              // As the real server: 200, one ERROR event, end of stream.
              Json event{{"type", "ERROR"}, {"object", statusBody(410, cursor.error().message)}};
              res.set_content(event.dump() + "\n", kWatchJson);
            } else {
              sendStatus(res, 400, cursor.error().message);
            }
            return;
          }
          int timeout = options_.default_watch_timeout_seconds;
          if (query.count("timeoutSeconds")) {
            try {
              timeout = std::stoi(param("timeoutSeconds"));
            } catch (const std::exception&) {
              sendStatus(res, 400, "invalid timeoutSeconds");
              return;
            }
          }
          auto state = std::make_shared<WatchState>();
          state->cursor = std::move(*cursor);
          const auto start = std::chrono::steady_clock::now();
          state->deadline = start + std::chrono::seconds(std::max(timeout, 0));
          state->bookmarks = truthy(param("allowWatchBookmarks"));
          state->next_bookmark = start + options_.bookmark_interval;
          state->bookmark_kind = type.kind;
          state->bookmark_api_version = type.apiVersion();
          const auto interval = options_.bookmark_interval;
          res.set_chunked_content_provider(kWatchJson, [this, state, interval](
                                                           size_t, httplib::DataSink& sink) {
            auto now = std::chrono::steady_clock::now();
            if (now >= state->deadline) {
              sink.done();
              return true;
            }
            auto until = state->deadline;
            if (state->bookmarks) until = std::min(until, state->next_bookmark);
            WatchBatch batch = cluster_.next(state->cursor, until);
            if (batch.closed) {
              sink.done();
              return true;
            }
            for (const auto& line : batch.lines) {
              if (!sink.write(line.data(), line.size())) return false;
            }
            if (batch.expired) {
              sink.done();
              return true;
            }
            now = std::chrono::steady_clock::now();
            if (state->bookmarks && now >= state->next_bookmark) {
              Json bookmark{
                  {"type", "BOOKMARK"},
                  {"object",
                   Json{{"kind", state->bookmark_kind},
                        {"apiVersion", state->bookmark_api_version},
                        {"metadata", Json{{"resourceVersion",
                                           std::to_string(state->cursor.resourceVersion())}}}}}};
              const std::string line = bookmark.dump() + "\n";
              if (!sink.write(line.data(), line.size())) return false;
              state->next_bookmark = now + interval;
            }
            return true;
          });
          return;
        }
        size_t limit = 0;
        if (const std::string text = param("limit"); !text.empty()) {
          if (text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9) {
            sendStatus(res, 400, "invalid limit \"" + text + "\"");
            return;
          }
          limit = std::stoul(text);
        }
        auto list =
            cluster_.listPage(path->resource, path->ns, *labels, *fields, limit, param("continue"));
        if (!list) {
          sendStatus(res, list.error().http_status ? list.error().http_status : 400,
                     list.error().message);
          return;
        }
        Json meta{{"resourceVersion", list->resource_version}};
        if (!list->continue_token.empty()) meta["continue"] = list->continue_token;
        if (list->remaining) meta["remainingItemCount"] = *list->remaining;
        if (table) {
          Json t =
              buildTable(path->resource, list->items, list->resource_version, include, wallClock());
          t["metadata"] = meta;
          sendJson(res, 200, t);
          return;
        }
        Json body{{"kind", type.listKind()},
                  {"apiVersion", type.apiVersion()},
                  {"metadata", meta},
                  {"items", std::move(list->items)}};
        sendJson(res, 200, body);
      }));

  server_->Delete(".*", api([this](const httplib::Request& req, httplib::Response& res, bool) {
                    auto path = parseApiPath(req.path);
                    if (!path || path->name.empty() || !path->subresource.empty() ||
                        !cluster_.serves(path->resource)) {
                      sendStatus(res, 405, "kubesim deletes single objects only");
                      return;
                    }
                    const ResourceType& type = resourceType(path->resource);
                    auto deleted = cluster_.deleteObject(path->resource, path->ns, path->name);
                    if (!deleted) {
                      sendStatus(res, 404,
                                 std::string(type.plural) + " \"" + path->name + "\" not found",
                                 Json{{"name", path->name}, {"kind", type.plural}});
                      return;
                    }
                    sendJson(res, 200, withKind(path->resource, *deleted));
                  }));
  // Writes: what kubectl's remediation commands send (cordon, scale, rollout
  // restart, create, the eviction subresource); cluster_writes.cpp.
  server_->Post(".*", api([this](const httplib::Request& req, httplib::Response& res, bool) {
                  auto path = parseApiPath(req.path);
                  if (!path || !cluster_.serves(path->resource)) {
                    sendStatus(res, 404, "the server could not find the requested resource");
                    return;
                  }
                  WriteResult out;
                  if (path->resource == Resource::kPods && !path->name.empty() &&
                      path->subresource == "eviction") {
                    out = cluster_.evictPod(path->ns, path->name, req.body);
                  } else if (path->name.empty()) {
                    out = cluster_.createObject(path->resource, path->ns, req.body);
                  } else {
                    sendStatus(res, 405, "kubesim: POST creates objects and evicts pods only");
                    return;
                  }
                  sendJson(res, out.status, out.body);
                }));
  server_->Patch(".*", api([this](const httplib::Request& req, httplib::Response& res, bool) {
                   auto path = parseApiPath(req.path);
                   if (!path || path->name.empty() || !cluster_.serves(path->resource)) {
                     sendStatus(res, 404, "the server could not find the requested resource");
                     return;
                   }
                   WriteResult out =
                       cluster_.patchObject(path->resource, path->ns, path->name, path->subresource,
                                            req.get_header_value("Content-Type"), req.body);
                   sendJson(res, out.status, out.body);
                 }));
  // PUT only for a Scale (kubectl scale --current-replicas reads the Scale,
  // checks the precondition and writes it back): a whole-object merge.
  server_->Put(".*", api([this](const httplib::Request& req, httplib::Response& res, bool) {
                 auto path = parseApiPath(req.path);
                 if (!path || path->subresource != "scale" || !cluster_.serves(path->resource)) {
                   sendStatus(res, 405, "kubesim serves PUT for the scale subresource only");
                   return;
                 }
                 WriteResult out =
                     cluster_.patchObject(path->resource, path->ns, path->name, "scale",
                                          "application/merge-patch+json", req.body);
                 sendJson(res, out.status, out.body);
               }));
}

}  // namespace rampart::kubesim
