#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hooks/hook_config.h"
#include "hooks/hook_policy.h"
#include "hooks/hook_process.h"
#include "hooks/hooks.h"
#include "rampart/finding_key.h"
#include "state/store.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::aggregator;
using namespace std::chrono_literals;

namespace {

engine::Finding finding(const std::string& check, const std::string& ns, const std::string& name,
                        engine::Severity severity = engine::Severity::kHigh,
                        const std::string& node = "n1", const std::string& zone = "z1") {
  engine::Finding f;
  f.check = check;
  f.severity = severity;
  f.subject = {"Deployment", ns, name};
  f.workload = engine::ObjectRef{"Deployment", ns, name};
  f.node = node;
  f.zone = zone;
  f.message = "3/3 ready replicas of " + ns + "/" + name + " on node " + node;
  return f;
}

std::shared_ptr<engine::Report> report(std::vector<engine::Finding> findings,
                                       bool partial = false) {
  auto r = std::make_shared<engine::Report>();
  r->findings = std::move(findings);
  r->partial = partial;
  return r;
}

std::filesystem::path script(const testing::TempDir& dir, const std::string& name,
                             const std::string& body) {
  auto p = dir / name;
  std::ofstream(p) << "#!/bin/sh\n" << body;
  ::chmod(p.c_str(), 0755);
  return p;
}

HookSpec hook(const std::string& name, std::vector<std::string> command) {
  HookSpec h;
  h.name = name;
  h.command = std::move(command);
  h.cooldown = 0ms;
  h.max_concurrent = 10;
  h.max_runs_per_hour = 1000;
  return h;
}

struct Row {
  std::string hook, key, check, output, detail;
  int64_t started = 0, ended = -1, exit_code = -1, signal = -1, timed_out = 0, dry_run = 0;
};

std::vector<Row> rows(const std::filesystem::path& db) {
  auto store = Store::open(db);
  REQUIRE(store.has_value());
  auto s = (*store)->prepare(
      "SELECT hook, finding_key, check_id, output, detail, started_ms, IFNULL(ended_ms, -1), "
      "IFNULL(exit_code, -1), IFNULL(signal, -1), timed_out, dry_run FROM hook_runs ORDER BY id");
  REQUIRE(s.has_value());
  std::vector<Row> out;
  while (s->step().value_or(false)) {
    out.push_back(Row{s->text(0), s->text(1), s->text(2), s->text(3), s->text(4), s->integer(5),
                      s->integer(6), s->integer(7), s->integer(8), s->integer(9), s->integer(10)});
  }
  return out;
}

std::string scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("hook config: a full hook parses, defaults fill the rest") {
  auto c = parseHooksConfig(R"yaml(
hooks:
  - name: cordon
    match:
      checks: [node.down, "node.partitioned-*"]
      min_severity: high
      labels: {node: "worker-*", zone: [eu-west-1a, eu-west-1b], namespace: shop}
    command: [/bin/true, --node, "$(not expanded)"]
    timeout: 30s
    kill_grace: 500ms
    cooldown: 1h30m
    max_concurrent: 2
    max_runs_per_hour: 5
    dry_run: true
  - name: minimal
    command: [/bin/true]
)yaml",
                            "/etc/rampart/hooks.yaml");
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  REQUIRE(c->hooks.size() == 2);
  const HookSpec& h = c->hooks[0];
  CHECK(h.name == "cordon");
  CHECK(h.match.checks == std::vector<std::string>{"node.down", "node.partitioned-*"});
  CHECK(h.match.min_severity == engine::Severity::kHigh);
  CHECK(h.match.nodes == std::vector<std::string>{"worker-*"});
  CHECK(h.match.zones.size() == 2);
  CHECK(h.match.namespaces == std::vector<std::string>{"shop"});
  CHECK(h.command == std::vector<std::string>{"/bin/true", "--node", "$(not expanded)"});
  CHECK(h.timeout == 30s);
  CHECK(h.kill_grace == 500ms);
  CHECK(h.cooldown == 90min);
  CHECK(h.max_concurrent == 2);
  CHECK(h.max_runs_per_hour == 5);
  CHECK(h.dry_run);
  const HookSpec& m = c->hooks[1];
  CHECK(m.timeout == 60s);
  CHECK(m.cooldown == 15min);
  CHECK(m.max_concurrent == 1);
  CHECK(m.max_runs_per_hour == 10);
  CHECK_FALSE(m.dry_run);
  CHECK(m.match.checks.empty());
}

TEST_CASE("hook config: every problem is named with its hook") {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"hooks: [{name: a, command: \"kubectl cordon $NODE\"}]",
       "hooks[0] (a).command: expected a non-empty list"},
      {"hooks: [{name: a, command: []}]", "non-empty list"},
      {"hooks: [{name: a}]", "hooks[0] (a): 'command' is required"},
      {"hooks: [{command: [/bin/true]}]", "hooks[0]: 'name' is required"},
      {"hooks: [{name: a, command: [/bin/true], timout: 3s}]", "unknown key 'timout'"},
      {"hooks: [{name: a, command: [/bin/true], timeout: 3 minutes}]",
       "hooks[0] (a).timeout: invalid duration"},
      {"hooks: [{name: a, command: [/bin/true], timeout: 0s}]", "timeout: must be > 0"},
      {"hooks: [{name: a, command: [/bin/true], max_concurrent: 0}]",
       "max_concurrent: expected an integer"},
      {"hooks: [{name: a, command: [/bin/true], dry_run: maybe}]",
       "dry_run: expected true or false"},
      {"hooks: [{name: a, command: [/bin/true], match: {min_severity: urgent}}]",
       "min_severity: expected info"},
      {"hooks: [{name: a, command: [/bin/true], match: {labels: {pod: x}}}]",
       "unknown label 'pod'"},
      {"hooks: [{name: a, command: [/bin/true], match: {check: x}}]", "unknown key 'check'"},
      {"hooks: [{name: a, command: [/bin/true]}, {name: a, command: [/bin/true]}]",
       "hooks[1]: duplicate name 'a'"},
      {"hooks: [{name: a, command: [/nonexistent/hook.sh]}]",
       "/nonexistent/hook.sh is not an executable file"},
      {"hooks: [{name: a, command: [no-such-hook-binary-xyz]}]",
       "'no-such-hook-binary-xyz' not found in PATH"},
      {"hook: []", "unknown key 'hook'"},
      {"hooks: {name: a}", "'hooks' must be a list"},
      {"hooks: [{name: a, command: [/bin/true]", "invalid YAML"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    auto r = parseHooksConfig(c.yaml, "/etc/hooks.yaml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kConfig);
    CHECK_MESSAGE(contains(r.error().message, c.expect), r.error().message);
    CHECK(r.error().message.starts_with("/etc/hooks.yaml: "));
  }
}

TEST_CASE("hook config: commands resolve against PATH and the config's directory") {
  testing::TempDir dir;
  script(dir, "fix.sh", "exit 0\n");
  std::filesystem::create_directories(dir / "conf");
  auto c = parseHooksConfig("hooks: [{name: a, command: [../fix.sh]}, {name: b, command: [sh]}]",
                            dir / "conf" / "hooks.yaml");
  REQUIRE_MESSAGE(c.has_value(), c.error().message);
  CHECK(c->hooks[0].command[0] == (dir / "fix.sh").string());
  CHECK(std::filesystem::path(c->hooks[1].command[0]).is_absolute());
  CHECK(std::filesystem::path(c->hooks[1].command[0]).filename() == "sh");
}

TEST_CASE("durations") {
  CHECK(parseDuration("90").value() == 90s);
  CHECK(parseDuration("250ms").value() == 250ms);
  CHECK(parseDuration("1h30m").value() == 90min);
  CHECK(parseDuration("2d").value() == 48h);
  CHECK_FALSE(parseDuration("").has_value());
  CHECK_FALSE(parseDuration("5 s").has_value());
  CHECK_FALSE(parseDuration("5x").has_value());
  CHECK_FALSE(parseDuration("m").has_value());
  CHECK_FALSE(parseDuration("-5s").has_value());
}

TEST_CASE("hook matching: checks, severity and labels") {
  HookMatch m;
  m.checks = {"node.*", "placement.colocated-replicas"};
  m.min_severity = engine::Severity::kMedium;
  m.namespaces = {"shop", "prod-*"};
  m.zones = {"z[12]"};
  struct Case {
    engine::Finding f;
    bool expect;
  };
  auto low = finding("node.down", "shop", "web", engine::Severity::kLow);
  auto cluster_level = finding("node.down", "", "n3");
  cluster_level.workload.reset();
  cluster_level.subject = {"Node", "", "n3"};
  const Case cases[] = {
      {finding("node.down", "shop", "web"), true},
      {finding("placement.colocated-replicas", "prod-eu", "api"), true},
      {finding("placement.colocated-replicas-x", "shop", "web"), false},
      {finding("pdb.blocks-drain", "shop", "web"), false},
      {low, false},
      {finding("node.down", "shop", "web", engine::Severity::kCritical), true},
      {finding("node.down", "staging", "web"), false},
      {finding("node.down", "shop", "web", engine::Severity::kHigh, "n1", "z3"), false},
      {cluster_level, false},  // namespace "" matches none of the patterns
  };
  for (const auto& c : cases) {
    CAPTURE(c.f.check);
    CAPTURE(c.f.subject.str());
    CHECK(hookMatches(m, c.f) == c.expect);
  }
  HookMatch everything;
  CHECK(hookMatches(everything, cluster_level));
  HookMatch nodes;
  nodes.subject_kinds = {"Node"};
  CHECK(hookMatches(nodes, cluster_level));
  CHECK_FALSE(hookMatches(nodes, finding("node.down", "shop", "web")));
}

TEST_CASE("policy: one run per occurrence; a resolved finding that returns runs after cooldown") {
  HooksConfig config;
  config.hooks.push_back(hook("h", {"/bin/true"}));
  config.hooks[0].cooldown = 10min;
  HookPolicy policy(config);
  auto with = report({finding("node.down", "shop", "web")});
  auto without = report({});
  const std::vector<int> idle{0};

  auto p = policy.plan(*with, 0, idle);
  REQUIRE(p.starts.size() == 1);
  CHECK(p.starts[0].key == engine::findingKey(with->findings[0]));
  CHECK(policy.plan(*with, 1000, idle).starts.empty());  // same occurrence
  // A partial report resolves nothing.
  auto partial = report({}, true);
  CHECK(policy.plan(*partial, 2000, idle).resolved.empty());
  CHECK(policy.plan(*with, 3000, idle).starts.empty());
  // Resolved, back within the cooldown: waits (one skip counted), runs once it passed.
  p = policy.plan(*without, 4000, idle);
  REQUIRE(p.resolved.size() == 1);
  p = policy.plan(*with, 5000, idle);
  CHECK(p.starts.empty());
  REQUIRE(p.skips.size() == 1);
  CHECK(p.skips[0].reason == HookSkip::kCooldown);
  CHECK(p.blocked);
  p = policy.plan(*with, 6000, idle);
  CHECK(p.skips.empty());  // counted once per occurrence
  CHECK(policy.plan(*with, 10 * 60 * 1000 - 1, idle).starts.empty());
  CHECK(policy.plan(*with, 10 * 60 * 1000, idle).starts.size() == 1);
}

TEST_CASE("policy: max runs per hour and max concurrent") {
  HooksConfig config;
  config.hooks.push_back(hook("h", {"/bin/true"}));
  config.hooks[0].max_runs_per_hour = 2;
  config.hooks[0].max_concurrent = 2;
  HookPolicy policy(config);
  auto r = report({finding("node.down", "a", "w"), finding("node.down", "b", "w"),
                   finding("node.down", "c", "w")});
  auto p = policy.plan(*r, 0, {0});
  CHECK(p.starts.size() == 2);
  REQUIRE(p.skips.size() == 1);
  CHECK(p.skips[0].reason == HookSkip::kConcurrency);  // two started, both running
  p = policy.plan(*r, 1000, {0});                      // they ended: the hour's budget is spent
  CHECK(p.starts.empty());
  REQUIRE(p.skips.size() == 1);
  CHECK(p.skips[0].reason == HookSkip::kRate);
  CHECK(policy.plan(*r, 3600 * 1000 - 1, {0}).starts.empty());
  p = policy.plan(*r, 3600 * 1000, {0});
  REQUIRE(p.starts.size() == 1);
  CHECK(p.starts[0].key == engine::findingKey(r->findings[2]));

  // Concurrency with processes still running.
  HooksConfig one;
  one.hooks.push_back(hook("h", {"/bin/true"}));
  one.hooks[0].max_concurrent = 1;
  HookPolicy busy(one);
  p = busy.plan(*r, 0, {1});
  CHECK(p.starts.empty());
  CHECK(p.skips.size() == 3);
  p = busy.plan(*r, 1, {0});
  CHECK(p.starts.size() == 1);
}

TEST_CASE("process: exit code, output and stdin") {
  std::atomic<bool> stop{false};
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "cat; echo err >&2; exit 3"};
  spec.stdin_data = "hello\n";
  auto r = runProcess(spec, stop);
  REQUIRE(r.started);
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.timed_out);
  CHECK(r.output == "hello\nerr\n");

  spec.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"};
  spec.max_output = 1000;
  r = runProcess(spec, stop);
  CHECK(r.output.size() == 1000);
  CHECK(r.output_bytes == 100000);

  // A hook that never reads a large stdin does not hurt the caller (no SIGPIPE).
  spec.argv = {"/bin/true"};
  spec.stdin_data = std::string(1 << 20, 'x');
  r = runProcess(spec, stop);
  CHECK(r.exit_code == 0);

  spec.argv = {"/nonexistent/hook"};
  r = runProcess(spec, stop);
  CHECK_FALSE(r.started);
  CHECK(contains(r.error, "/nonexistent/hook"));
}

TEST_CASE("process: past the timeout the whole group dies, grandchild included") {
  testing::TempDir dir;
  // Both ignore SIGTERM: only the SIGKILL after the grace period ends them.
  auto hook_script = script(dir, "slow.sh",
                            "trap '' TERM\n"
                            "sleep 30 &\n"
                            "echo $! > \"$1/grandchild\"\n"
                            "echo started\n"
                            "sleep 30\n");
  std::atomic<bool> stop{false};
  ProcessSpec spec;
  spec.argv = {hook_script.string(), dir.path().string()};
  // Room for the shell to start and set its trap on a loaded machine (with
  // 300 ms the TERM sometimes came first and ended it).
  spec.timeout = 2s;
  spec.kill_grace = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = runProcess(spec, stop);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(r.timed_out);
  CHECK(r.signal == SIGKILL);
  CHECK_FALSE(r.exit_code.has_value());
  CHECK(r.output == "started\n");
  CHECK(took < 20s);  // killed, not waited for (the script sleeps 30 s)
  auto pid = std::stoi(testing::readFile(dir / "grandchild"));
  // Gone, or a zombie waiting for its new parent: not running.
  bool dead = testing::waitUntil(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return true;
        auto close = line.rfind(')');
        return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
      },
      5s);
  CHECK(dead);
}

TEST_CASE("runner: hostile strings reach the hook verbatim and execute nothing") {
  testing::TempDir dir;
  const std::string pwned = (dir / "pwned").string();
  const std::string hostile = "a\"b'c $(touch " + pwned + ") `touch " + pwned + "` ;touch " +
                              pwned + "\n|| touch " + pwned + " \\ ${HOME} %s\t end";
  auto hook_script = script(dir, "capture.sh",
                            "cat > \"$1/stdin.json\"\n"
                            "printf '%s' \"$RAMPART_SUBJECT_NAME\" > \"$1/subject\"\n"
                            "printf '%s' \"$RAMPART_NAMESPACE\" > \"$1/namespace\"\n"
                            "printf '%s' \"$RAMPART_NODE\" > \"$1/node\"\n"
                            "env > \"$1/env\"\n");
  HookRunnerOptions opts;
  opts.config.hooks.push_back(hook("capture", {hook_script.string(), dir.path().string()}));
  opts.db_path = dir / "r.db";
  opts.cluster = "prod";
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  auto f = finding("node.down", hostile, hostile, engine::Severity::kCritical, hostile);
  f.message = hostile;
  (*runner)->update(report({f}), 1000);
  REQUIRE(testing::waitUntil([&] { return std::filesystem::exists(dir / "env"); }, 10s));
  REQUIRE((*runner)->waitIdle(10s));
  CHECK(testing::readFile(dir / "subject") == hostile);
  CHECK(testing::readFile(dir / "namespace") == hostile);
  CHECK(testing::readFile(dir / "node") == hostile);
  auto payload = nlohmann::json::parse(testing::readFile(dir / "stdin.json"));
  CHECK(payload["schema"] == "rampart.hook/v1");
  CHECK(payload["hook"] == "capture");
  CHECK(payload["cluster"] == "prod");
  CHECK(payload["key"] == engine::findingKey(f));
  CHECK(payload["dry_run"] == false);
  CHECK(payload["finding"]["message"] == hostile);
  CHECK(payload["finding"]["subject"]["name"] == hostile);
  CHECK(payload["finding"]["check"] == "node.down");
  CHECK(payload["finding"]["severity"] == "critical");
  CHECK_FALSE(std::filesystem::exists(pwned));
  const std::string env = testing::readFile(dir / "env");
  CHECK(contains(env, "RAMPART_CHECK=node.down\n"));
  CHECK(contains(env, "RAMPART_SEVERITY=critical\n"));
  CHECK(contains(env, "RAMPART_CLUSTER=prod\n"));
  CHECK(contains(env, "RAMPART_DRY_RUN=false\n"));
  CHECK(contains(env, "RAMPART_WORKLOAD_KIND=Deployment\n"));
  CHECK(contains(env, "RAMPART_SUBJECT_KIND=Deployment\n"));
  CHECK(contains(env, "RAMPART_ZONE=z1\n"));
  CHECK(contains(env, "RAMPART_FINDING_KEY=node.down|Deployment|"));
  auto runs = rows(dir / "r.db");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].hook == "capture");
  CHECK(runs[0].key == engine::findingKey(f));
  CHECK(runs[0].exit_code == 0);
  CHECK(runs[0].ended >= runs[0].started);
  CHECK(
      contains(scrape(registry),
               "rampart_hook_runs_total{cluster=\"prod\",hook=\"capture\",result=\"success\"} 1"));
}

TEST_CASE("runner: a timed-out hook is recorded and counted") {
  testing::TempDir dir;
  auto slow = script(dir, "slow.sh", "echo partial; sleep 30\n");
  HookRunnerOptions opts;
  auto h = hook("slow", {slow.string()});
  h.timeout = 2s;  // room to print "partial" on a loaded machine
  h.kill_grace = 200ms;
  opts.config.hooks.push_back(h);
  opts.db_path = dir / "r.db";
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  (*runner)->update(report({finding("node.down", "shop", "web")}), 1);
  REQUIRE(testing::waitUntil([&] { return !rows(dir / "r.db").empty(); }, 5s));
  REQUIRE((*runner)->waitIdle(10s));
  auto runs = rows(dir / "r.db");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].timed_out == 1);
  CHECK(runs[0].signal == SIGTERM);
  CHECK(runs[0].exit_code == -1);
  CHECK(runs[0].output == "partial\n");
  CHECK(contains(runs[0].detail, "\"result\":\"timeout\""));
  CHECK(
      contains(scrape(registry),
               "rampart_hook_runs_total{cluster=\"default\",hook=\"slow\",result=\"timeout\"} 1"));
}

TEST_CASE("runner: max_concurrent holds the second finding until the first hook ends") {
  testing::TempDir dir;
  auto gated = script(dir, "gated.sh",
                      "echo x >> \"$1/started\"\n"
                      "while [ ! -e \"$1/go\" ]; do sleep 0.02; done\n");
  HookRunnerOptions opts;
  auto h = hook("gated", {gated.string(), dir.path().string()});
  h.max_concurrent = 1;
  opts.config.hooks.push_back(h);
  opts.db_path = dir / "r.db";
  opts.recheck = 50ms;
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  (*runner)->update(report({finding("node.down", "a", "w"), finding("node.down", "b", "w")}), 1);
  REQUIRE(testing::waitUntil([&] { return std::filesystem::exists(dir / "started"); }, 5s));
  REQUIRE(testing::waitUntil(
      [&] {
        return contains(scrape(registry), "hook=\"gated\",result=\"skipped_concurrency\"} 1");
      },
      5s));
  CHECK(contains(scrape(registry), "rampart_hook_running{cluster=\"default\",hook=\"gated\"} 1"));
  CHECK(testing::readFile(dir / "started") == "x\n");
  std::ofstream(dir / "go") << "";
  REQUIRE(testing::waitUntil([&] { return rows(dir / "r.db").size() == 2; }, 5s));
  REQUIRE((*runner)->waitIdle(10s));
  CHECK(testing::readFile(dir / "started") == "x\nx\n");
  CHECK(contains(scrape(registry), "hook=\"gated\",result=\"success\"} 2"));
  CHECK(contains(scrape(registry), "rampart_hook_running{cluster=\"default\",hook=\"gated\"} 0"));
}

TEST_CASE("runner: dry run records without executing") {
  testing::TempDir dir;
  auto touch = script(dir, "touch.sh", "touch \"$1/ran\"\n");
  HookRunnerOptions opts;
  auto h = hook("dry", {touch.string(), dir.path().string()});
  h.dry_run = true;
  opts.config.hooks.push_back(h);
  opts.db_path = dir / "r.db";
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  (*runner)->update(report({finding("node.down", "shop", "web")}), 1);
  REQUIRE(testing::waitUntil([&] { return !rows(dir / "r.db").empty(); }, 5s));
  REQUIRE((*runner)->waitIdle(5s));
  auto runs = rows(dir / "r.db");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].dry_run == 1);
  CHECK(runs[0].ended == runs[0].started);
  CHECK_FALSE(std::filesystem::exists(dir / "ran"));
  CHECK(contains(scrape(registry), "hook=\"dry\",result=\"dry_run\"} 1"));
}

TEST_CASE("runner: not the leader runs nothing and records nothing") {
  testing::TempDir dir;
  auto touch = script(dir, "touch.sh", "touch \"$1/ran\"\n");
  HookRunnerOptions opts;
  opts.config.hooks.push_back(hook("h", {touch.string(), dir.path().string()}));
  opts.db_path = dir / "r.db";
  opts.leader = false;
  prometheus::Registry registry;
  auto runner = HookRunner::create(opts, registry, nullLogger());
  REQUIRE(runner.has_value());
  (*runner)->start();
  (*runner)->update(report({finding("node.down", "shop", "web")}), 1);
  CHECK((*runner)->waitIdle(1s));
  CHECK_FALSE(std::filesystem::exists(dir / "ran"));
  CHECK_FALSE(std::filesystem::exists(dir / "r.db"));
}

TEST_CASE("runner: after a restart a handled finding does not run again; a new occurrence does") {
  testing::TempDir dir;
  auto counter = script(dir, "count.sh", "echo x >> \"$1/runs\"\n");
  HookRunnerOptions opts;
  opts.config.hooks.push_back(hook("h", {counter.string(), dir.path().string()}));
  opts.config.hooks[0].cooldown = 10min;
  opts.db_path = dir / "r.db";
  int64_t clock_ms = 1'000'000;
  opts.clock = [&clock_ms] { return clock_ms; };
  auto with = report({finding("node.down", "shop", "web")});
  auto without = report({});
  auto runs = [&] {
    return std::filesystem::exists(dir / "runs") ? testing::readFile(dir / "runs").size() / 2 : 0;
  };
  {
    prometheus::Registry registry;
    auto runner = HookRunner::create(opts, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    (*runner)->update(with, clock_ms);
    REQUIRE(testing::waitUntil([&] { return runs() == 1; }, 5s));
    REQUIRE((*runner)->waitIdle(5s));
  }
  {
    prometheus::Registry registry;
    auto runner = HookRunner::create(opts, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    clock_ms += 20 * 60 * 1000;  // past the cooldown: only the handled occurrence holds it back
    (*runner)->update(with, clock_ms);
    REQUIRE((*runner)->waitIdle(5s));
    CHECK(runs() == 1);
    CHECK(rows(dir / "r.db").size() == 1);
    // It resolves while this aggregator runs...
    (*runner)->update(without, clock_ms);
    REQUIRE((*runner)->waitIdle(5s));
    CHECK(contains(rows(dir / "r.db")[0].detail, "\"resolved_ms\":"));
  }
  {
    // ... and comes back after another restart: a new occurrence, past the cooldown.
    prometheus::Registry registry;
    auto runner = HookRunner::create(opts, registry, nullLogger());
    REQUIRE(runner.has_value());
    (*runner)->start();
    (*runner)->update(with, clock_ms);
    REQUIRE(testing::waitUntil([&] { return runs() == 2; }, 5s));
    REQUIRE((*runner)->waitIdle(5s));
    CHECK(rows(dir / "r.db").size() == 2);
  }
}
