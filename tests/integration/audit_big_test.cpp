// The real rampartctl binary on a dump of about 200 MB (a generated cluster of
// ~95,000 pods): whole, it is audited; cut in the middle, the pods before the
// break are audited and the report says it is partial, with the byte offset.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cluster_gen.h"
#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace std::chrono_literals;

TEST_CASE("a 200 MB dump, whole and truncated") {
  bench::ClusterShape shape;
  shape.pods = 95000;
  shape.nodes = shape.pods / 30;
  bench::GeneratedCluster g = bench::generateCluster(shape);
  REQUIRE(g.json.size() > 190'000'000);

  testing::TempDir dir;
  const auto whole = dir / "whole.json";
  const auto cut = dir / "cut.json";
  std::ofstream(whole, std::ios::binary) << g.json;
  std::ofstream(cut, std::ios::binary)
      .write(g.json.data(), static_cast<std::streamsize>(g.json.size() / 2));
  std::string().swap(g.json);

  auto audit = [&](const std::filesystem::path& file, std::string* stderr_text) {
    auto out = dir / "out.json";
    auto err = dir / "err.txt";
    auto r = testing::runCommand(
        {"/bin/sh", "-c",
         std::string(rampart::testing::kCtlBin) + " audit --now 1767384600 -f " + file.string() +
             " --format json > " + out.string() + " 2> " + err.string()},
        600s);
    std::ifstream e(err);
    *stderr_text = std::string(std::istreambuf_iterator<char>(e), {});
    REQUIRE(r.exit_code == 0);
    std::ifstream o(out);
    return nlohmann::json::parse(o);
  };

  std::string err;
  nlohmann::json full = audit(whole, &err);
  CAPTURE(full["warnings"].dump());
  CHECK(full["partial"] == false);
  size_t workloads_full = full["score"]["workloads"].size();
  CHECK(workloads_full > 5000);

  nlohmann::json half = audit(cut, &err);
  CHECK(half["partial"] == true);
  CHECK(half["warnings"].dump().find("breaks off at byte") != std::string::npos);
  CHECK(err.find("results are partial") != std::string::npos);
  size_t workloads_half = half["score"]["workloads"].size();
  CHECK(workloads_half > 0);
  CHECK(workloads_half < workloads_full);
}
