// rampartctl status / findings / whatif / explain / top against a running
// aggregator's JSON API (docs/api.md, docs/cli.md). Each command returns the
// process exit code; the renderers are pure functions of the API's documents,
// exposed for tests.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "rampart/engine.h"
#include "rampart/error.h"

namespace rampart::ctl {

// Exit codes of the live commands (docs/cli.md).
inline constexpr int kLiveOk = 0;
inline constexpr int kLiveUsage = 1;   // bad options
inline constexpr int kLiveServer = 2;  // unreachable, a non-200 answer, or not the JSON expected

inline constexpr const char* kDefaultServer = "http://127.0.0.1:7401";
// $RAMPART_SERVER when set and not empty, else kDefaultServer.
std::string defaultServer();

struct LiveOptions {
  std::string server = kDefaultServer;
  std::string output = "text";  // text | json
  bool color = false;           // ANSI colours (main sets it on a TTY unless --no-color)
};

// GET server+path as JSON. The error names the URL: unreachable, HTTP status
// with the API's {"error"} message, or not JSON.
Result<nlohmann::json> fetchJson(const std::string& server, const std::string& path);
// The same, the body as it came (not checked to be JSON).
Result<std::string> fetchBody(const std::string& server, const std::string& path);

int status(const LiveOptions& options, std::ostream& out, std::ostream& err);

struct FindingsQuery {
  std::string check;  // id prefix
  std::string namespace_;
  std::string node;
  std::string severity;  // minimum
};
int findings(const LiveOptions& options, const FindingsQuery& query, std::ostream& out,
             std::ostream& err);

// level "" (every domain), "node", "zone" or "region".
int whatifLive(const LiveOptions& options, const std::string& level, const std::string& name,
               std::ostream& out, std::ostream& err);

// workload "" (the cluster's tree, from /api/v1/audit), "NS/NAME" or
// "KIND/NS/NAME".
int explainLive(const LiveOptions& options, const std::string& workload, std::ostream& out,
                std::ostream& err);

struct TopOptions {
  std::chrono::milliseconds interval{2000};
  bool once = false;             // one frame, then exit (exit 2 when the server fails)
  bool clear = false;            // ANSI clear + redraw (main sets it on a TTY)
  size_t rows = 8;               // worst workloads and findings shown
  std::optional<size_t> frames;  // stop after this many frames (tests)
};
int top(const LiveOptions& options, const TopOptions& top_options, std::ostream& out,
        std::ostream& err);

// Renderers of the API's documents (throw nlohmann::json::exception on a
// document of the wrong shape; the commands catch it).
std::string renderStatus(const nlohmann::json& score, const std::string& server, bool color);
std::string renderFindings(const nlohmann::json& findings, bool color);
std::string renderLiveWhatIf(const nlohmann::json& whatif, bool color);
std::string renderWorkload(const nlohmann::json& workload, bool color);
std::string renderTopFrame(const nlohmann::json& score, const nlohmann::json& nodes,
                           const nlohmann::json& findings, const std::string& server, size_t rows,
                           bool color);

// The audit JSON (docs/audit-json.md) back into a report, for the text
// renderers; fields it lacks stay empty.
engine::Report reportFromJson(const nlohmann::json& audit);

}  // namespace rampart::ctl
