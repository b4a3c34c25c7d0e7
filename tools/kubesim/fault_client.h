// The client side of `kubesim fault`: turns command-line words into the JSON
// body of POST /_kubesim/faults, and sends it.
#pragma once

#include <string>
#include <vector>

#include "rampart/error.h"
#include "rampart/files.h"  // writeFileAtomically, for the ready file
#include "scenario/scenario.h"

namespace rampart::kubesim {

// e.g. {"container-restart", "shop/web-0", "--reason", "OOMKilled"} ->
// {"type":"container-restart","pod":"shop/web-0","reason":"OOMKilled"}.
// kConfig with a usage line for bad input.
Result<Json> faultFromArgs(const std::vector<std::string>& args);

// Usage text listing every fault.
std::string faultUsage();

// POSTs `fault` to `server_url` (http://HOST:PORT). The server's JSON answer,
// or kNetwork / kHttp (with the server's error message).
Result<Json> postFault(const std::string& server_url, const Json& fault);

// Parses "HOST:PORT" (as given to --listen).
Result<std::pair<std::string, int>> parseListenAddress(const std::string& text);

}  // namespace rampart::kubesim
