#include "host_health.h"

#include <doctest/doctest.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_paths.h"
#include "test_support.h"

using namespace rampart;
using namespace rampart::agent;
using rampart::testing::TempDir;
using rampart::testing::testData;

namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// A writable copy of a fixture root.
fs::path copyFixture(const TempDir& dir, const std::string& name) {
  fs::path root = dir / name;
  fs::copy(testData("hostroot/" + name), root, fs::copy_options::recursive);
  return root;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

bool anyContains(const std::vector<std::string>& lines, std::string_view needle) {
  for (const auto& l : lines) {
    if (contains(l, needle)) return true;
  }
  return false;
}

template <typename T>
void checkParseError(const Result<T>& r, std::string_view file, std::string_view what) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kParse);
  INFO("message: " << r.error().message);
  CHECK(r.error().message.starts_with(std::string(file) + ": "));
  CHECK(contains(r.error().message, what));
}

}  // namespace

TEST_CASE("parseProcStat reads the aggregate line and counts cpuN lines") {
  struct Case {
    const char* name;
    std::string text;
    CpuTimes times;
    uint32_t cpus;
  };
  const std::vector<Case> cases = {
      {"linux 6.x, 10 values",
       "cpu  8953 0 5546 96405 434 0 182 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\n",
       {8953, 0, 5546, 96405, 434, 0, 182, 0},
       1},
      {"all eight kept in order",
       "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 0 0 0 0\ncpu1 0 0 0 0\n",
       {1, 2, 3, 4, 5, 6, 7, 8},
       2},
      {"linux 2.4, 4 values",
       "cpu  10 20 30 40\ncpu0 10 20 30 40\nintr 5\n",
       {10, 20, 30, 40, 0, 0, 0, 0},
       1},
      {"no trailing newline, tabs",
       "cpu\t5 6 7 8 9\ncpu0 5 6 7 8 9\ncpu1 0 0 0 0 0",
       {5, 6, 7, 8, 9, 0, 0, 0},
       2},
      {"sparse cpu numbers",
       "cpu  1 1 1 1\ncpu0 1 1 1 1\ncpu7 0 0 0 0\ncpu63 0 0 0 0\n",
       {1, 1, 1, 1, 0, 0, 0, 0},
       3},
      {"64-bit counters",
       "cpu  18446744073709551615 0 0 0\ncpu0 0 0 0 0\n",
       {18446744073709551615ull, 0, 0, 0, 0, 0, 0, 0},
       1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = parseProcStat(c.text);
    REQUIRE_MESSAGE(r.has_value(), r.error().message);
    CHECK(r->times == c.times);
    CHECK(r->cpu_count == c.cpus);
  }

  auto real = parseProcStat(testing::readFile(testData("hostroot/psi/proc/stat")));
  REQUIRE(real.has_value());
  CHECK(real->cpu_count == 2);
  CHECK(real->times.user == 8953);
  CHECK(real->times.idle == 96405);
  CHECK(real->times.iowait == 434);
  CHECK(real->times.softirq == 182);
}

TEST_CASE("parseProcStat rejects malformed input") {
  struct Case {
    std::string text;
    const char* what;
  };
  const std::vector<Case> cases = {
      {"", "no aggregate cpu line"},
      {"cpu  8953 0 55", "3 values, need at least 4"},
      {"cpu\ncpu0 1 2 3 4\n", "0 values"},
      {"cpu  1 2 x 4\ncpu0 1 2 3 4\n", "bad number \"x\""},
      {"cpu  1 2 -3 4\ncpu0 1 2 3 4\n", "bad number \"-3\""},
      {"cpu  1 2 3 4.5\ncpu0 1 2 3 4\n", "bad number \"4.5\""},
      {"cpu  1 2 3 99999999999999999999\ncpu0 1 2 3 4\n", "bad number"},
      {"cpu  1 2 3 4\nintr 0\n", "no per-CPU"},
      {"cpu0 1 2 3 4\ncpu1 1 2 3 4\n", "no aggregate cpu line"},
      {"cpu  1 2 3 4\ncpu  1 2 3 4\ncpu0 1 2 3 4\n", "two aggregate cpu lines"},
      {"cpu  1 2 3 4\ncpuX 1 2 3 4\n", "unexpected line name \"cpuX\""},
      {"MemTotal: 5 kB\n", "no aggregate cpu line"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    checkParseError(parseProcStat(c.text), "/proc/stat", c.what);
  }
}

TEST_CASE("parseMeminfo reads MemTotal and MemAvailable in bytes, with the old-kernel fallback") {
  struct Case {
    const char* name;
    std::string text;
    uint64_t total, available;
    bool estimated;
  };
  const std::vector<Case> cases = {
      {"MemAvailable", "MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 600 kB\nCached: 5 kB\n",
       1000 * 1024, 600 * 1024, false},
      {"fallback MemFree+Buffers+Cached",
       "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\n"
       "Cached: 300 kB\nSwapCached: 7 kB\n",
       1000 * 1024, 420 * 1024, true},
      {"fallback capped at total",
       "MemTotal: 100 kB\nMemFree: 90 kB\nBuffers: 20 kB\nCached: 30 kB\n", 100 * 1024, 100 * 1024,
       true},
      {"MemAvailable capped at total", "MemTotal: 100 kB\nMemAvailable: 101 kB\n", 100 * 1024,
       100 * 1024, false},
      {"unknown and unit-less lines ignored",
       "Foo:bar\nHugePages_Total:       0\nMemTotal:   2 kB\nMemAvailable: 1 kB\nNewField: x y z\n",
       2048, 1024, false},
      {"CRLF tolerated", "MemTotal: 4 kB\r\nMemAvailable: 3 kB\r\n", 4096, 3072, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = parseMeminfo(c.text);
    REQUIRE_MESSAGE(r.has_value(), r.error().message);
    CHECK(r->total_bytes == c.total);
    CHECK(r->available_bytes == c.available);
    CHECK(r->available_estimated == c.estimated);
  }

  auto psi = parseMeminfo(testing::readFile(testData("hostroot/psi/proc/meminfo")));
  REQUIRE(psi.has_value());
  CHECK(psi->total_bytes == 25276026880ull);
  CHECK(psi->available_bytes == 24932208640ull);
  auto old = parseMeminfo(testing::readFile(testData("hostroot/nopsi/proc/meminfo")));
  REQUIRE(old.has_value());
  CHECK(old->total_bytes == 8254529536ull);
  CHECK(old->available_bytes == (405156ull + 208336 + 5893492) * 1024);
  CHECK(old->available_estimated);
}

TEST_CASE("parseMeminfo rejects malformed input") {
  struct Case {
    std::string text;
    const char* what;
  };
  const std::vector<Case> cases = {
      {"", "no MemTotal"},
      {"garbage\nnot meminfo at all\n", "no MemTotal"},
      {"MemTotal: lots kB\n", "bad number \"lots\" for MemTotal"},
      {"MemTotal: 0 kB\nMemAvailable: 0 kB\n", "MemTotal is 0"},
      {"MemTotal: 10 MB\n", "unit \"MB\" for MemTotal"},
      {"MemTotal: 10\n", "unit \"\" for MemTotal"},
      {"MemTotal: 10 kB\nMemAvailable: -1 kB\n", "bad number \"-1\" for MemAvailable"},
      {"MemTotal: 10 kB\nMemFree: 1 kB\nBuffers: 1 kB\n", "no MemAvailable"},
      {"MemTotal: 10 kB\nMemTotal: 10 kB\nMemAvailable: 1 kB\n", "duplicate MemTotal"},
      {"MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n", "overflows"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    checkParseError(parseMeminfo(c.text), "/proc/meminfo", c.what);
  }
}

TEST_CASE("parseLoadavg and parseUptime") {
  auto load = parseLoadavg("0.59 0.40 0.19 1/85 6826\n");
  REQUIRE(load.has_value());
  CHECK(*load == LoadAvg{0.59, 0.40, 0.19});
  CHECK(parseLoadavg("12 3.5 100.25").value() == LoadAvg{12, 3.5, 100.25});

  struct Bad {
    std::string text;
    const char* what;
  };
  for (const Bad& c : std::vector<Bad>{{"", "0 fields"},
                                       {"0.1 0.2\n", "2 fields"},
                                       {"0.1 abc 0.3 1/2 3", "bad load average \"abc\""},
                                       {"0.1 -0.2 0.3 1/2 3", "bad load average \"-0.2\""},
                                       {"nan 0.2 0.3 1/2 3", "bad load average \"nan\""},
                                       {"inf 0.2 0.3 1/2 3", "bad load average \"inf\""},
                                       {"1e3 0.2 0.3 1/2 3", "bad load average \"1e3\""}}) {
    CAPTURE(c.text);
    checkParseError(parseLoadavg(c.text), "/proc/loadavg", c.what);
  }

  CHECK(parseUptime("558.36 964.08\n").value() == 558.36);
  CHECK(parseUptime("7").value() == 7);
  for (const Bad& c : std::vector<Bad>{{"", "empty"},
                                       {"\n", "empty"},
                                       {"x 1", "bad uptime \"x\""},
                                       {"-5.0 1", "bad uptime \"-5.0\""},
                                       {"5.0s 1", "bad uptime \"5.0s\""}}) {
    CAPTURE(c.text);
    checkParseError(parseUptime(c.text), "/proc/uptime", c.what);
  }
}

TEST_CASE("parsePressure reads some and full lines") {
  struct Case {
    const char* name;
    std::string text;
    PressureFile want;
  };
  const std::vector<Case> cases = {
      {"cpu before 5.13: some only",
       "some avg10=1.50 avg60=2.25 avg300=3.00 total=42\n",
       {{1.5, 2.25, 3.0, 42}, std::nullopt}},
      {"some and full",
       "some avg10=0.27 avg60=1.10 avg300=1.32 total=10081070\n"
       "full avg10=0.10 avg60=0.20 avg300=0.30 total=7\n",
       {{0.27, 1.10, 1.32, 10081070}, PressureLine{0.10, 0.20, 0.30, 7}}},
      {"full first, no trailing newline",
       "full avg10=4.00 avg60=5.00 avg300=6.00 total=2\nsome avg10=100.00 avg60=0 avg300=0 total=3",
       {{100, 0, 0, 3}, PressureLine{4, 5, 6, 2}}},
      {"unknown keys and line kinds ignored",
       "some avg10=1.00 avg60=2.00 avg600=9.00 avg300=3.00 total=4\nlong avg10=zz\n\n",
       {{1, 2, 3, 4}, std::nullopt}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = parsePressure(c.text, "/proc/pressure/io");
    REQUIRE_MESSAGE(r.has_value(), r.error().message);
    CHECK(*r == c.want);
  }
}

TEST_CASE("parsePressure rejects malformed input and names the file") {
  struct Case {
    std::string text;
    const char* what;
  };
  const std::vector<Case> cases = {
      {"", "no some line"},
      {"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "no some line"},
      {"some avg10=0.00 avg60=0.00 avg300=0.00\n", "some line lacks"},
      {"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=1\n", "full line lacks"},
      {"some avg10=abc avg60=0.00 avg300=0.00 total=0\n", "bad avg10 \"abc\""},
      {"some avg10=0.00 avg60=100.01 avg300=0.00 total=0\n", "bad avg60 \"100.01\""},
      {"some avg10=0.00 avg60=0.00 avg300=-1 total=0\n", "bad avg300 \"-1\""},
      {"some avg10=0.00 avg60=0.00 avg300=0.00 total=1.5\n", "bad total \"1.5\""},
      {"some avg10 0.00 avg60=0.00 avg300=0.00 total=0\n", "expected key=value, got \"avg10\""},
      {"some avg10=0 avg60=0 avg300=0 total=0\nsome avg10=0 avg60=0 avg300=0 total=0\n",
       "duplicate some line"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    checkParseError(parsePressure(c.text, "/proc/pressure/memory"), "/proc/pressure/memory",
                    c.what);
  }
}

TEST_CASE("parseBootId trims and validates a UUID") {
  CHECK(parseBootId("ef29d73a-442d-485d-8e93-5294b1f59fdc\n").value() ==
        "ef29d73a-442d-485d-8e93-5294b1f59fdc");
  CHECK(parseBootId("  EF29D73A-442D-485D-8E93-5294B1F59FDC \r\n").value() ==
        "EF29D73A-442D-485D-8E93-5294B1F59FDC");
  for (std::string bad :
       {"", "not-a-boot-id\n", "ef29d73a-442d-485d-8e93-5294b1f59fd\n",
        "ef29d73a-442d-485d-8e93-5294b1f59fdcc", "ef29d73a+442d-485d-8e93-5294b1f59fdc",
        "ef29d73a-442d-485d-8e93-5294b1f59fdg"}) {
    CAPTURE(bad);
    checkParseError(parseBootId(bad), "/proc/sys/kernel/random/boot_id", "not a UUID");
  }
}

TEST_CASE("cpuUsageRatio: busy over busy+idle between readings, with guards") {
  struct Case {
    const char* name;
    CpuTimes prev, cur;
    std::optional<double> want;
  };
  const std::vector<Case> cases = {
      {"all busy", {0, 0, 0, 0}, {100, 0, 0, 0}, 1.0},
      {"all idle", {0, 0, 0, 0}, {0, 0, 0, 100}, 0.0},
      {"iowait counts as idle", {0, 0, 0, 0}, {0, 0, 0, 0, 100}, 0.0},
      {"quarter", {100, 0, 100, 700, 100}, {200, 10, 120, 1100, 150, 10, 5, 5}, 0.25},
      {"steal, irq, softirq, nice count as busy", {}, {0, 1, 0, 4, 0, 1, 1, 1}, 0.5},
      {"no tick elapsed", {1, 2, 3, 4}, {1, 2, 3, 4}, std::nullopt},
      {"total backwards", {100, 0, 0, 100}, {50, 0, 0, 100}, std::nullopt},
      // iowait fell by 10 while idle rose by 30: idle delta is 20, busy 20.
      {"iowait backwards is clamped", {0, 0, 0, 100, 50}, {20, 0, 0, 130, 40}, 0.5},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto got = cpuUsageRatio(c.prev, c.cur);
    REQUIRE(got.has_value() == c.want.has_value());
    if (got) CHECK(*got == doctest::Approx(*c.want).epsilon(1e-12));
  }
}

TEST_CASE("HostHealthCollector samples the psi fixture root") {
  const fs::path root = testData("hostroot/psi");
  HostHealthCollector collector(root, {"/", "/proc"});
  auto h = collector.sample();
  REQUIRE_MESSAGE(h.has_value(), h.error().describe());
  CHECK(collector.warnings().empty());
  CHECK(h->cpu_usage_ratio == 0);
  CHECK(h->cpu_count == 2);
  CHECK(h->load1 == 0.59);
  CHECK(h->load5 == 0.40);
  CHECK(h->load15 == 0.19);
  CHECK(h->memory_total_bytes == 25276026880ull);
  CHECK(h->memory_available_bytes == 24932208640ull);
  CHECK(h->uptime_seconds == 558.36);
  CHECK(h->boot_id == "ef29d73a-442d-485d-8e93-5294b1f59fdc");
  REQUIRE(h->pressure.has_value());
  CHECK(h->pressure->cpu_some_avg10 == 0.27);
  CHECK(h->pressure->memory_some_avg10 == 0);
  CHECK(h->pressure->io_full_avg10 == 0);

  REQUIRE(h->filesystems.size() == 2);
  CHECK(h->filesystems[0].mount_point == "/");
  CHECK(h->filesystems[1].mount_point == "/proc");
  struct statvfs want {};
  REQUIRE(::statvfs(root.c_str(), &want) == 0);
  CHECK(h->filesystems[0].size_bytes == uint64_t(want.f_blocks) * want.f_frsize);
  CHECK(h->filesystems[0].files == want.f_files);
  CHECK(h->filesystems[0].size_bytes > 0);
  CHECK(h->filesystems[0].avail_bytes <= h->filesystems[0].size_bytes);
  CHECK(h->filesystems[0].files_free <= h->filesystems[0].files);
  CHECK(collector.counters().samples == 1);
}

TEST_CASE("HostHealthCollector maps each PSI file to its Pressure fields") {
  TempDir dir;
  fs::path root = copyFixture(dir, "psi");
  writeFile(root / "proc/pressure/cpu", "some avg10=1.00 avg60=0 avg300=0 total=1\n");
  writeFile(root / "proc/pressure/memory",
            "some avg10=2.00 avg60=0 avg300=0 total=1\nfull avg10=3.00 avg60=0 avg300=0 total=1\n");
  writeFile(root / "proc/pressure/io",
            "some avg10=4.00 avg60=0 avg300=0 total=1\nfull avg10=5.00 avg60=0 avg300=0 total=1\n");
  HostHealthCollector collector(root, {});
  auto h = collector.sample();
  REQUIRE(h.has_value());
  REQUIRE(h->pressure.has_value());
  CHECK(*h->pressure == Pressure{1, 2, 3, 4, 5});
  CHECK(collector.warnings().empty());
}

TEST_CASE("HostHealthCollector on an old kernel: no PSI, MemAvailable estimated") {
  HostHealthCollector collector(testData("hostroot/nopsi"), {"/"});
  auto h = collector.sample();
  REQUIRE_MESSAGE(h.has_value(), h.error().describe());
  CHECK(collector.warnings().empty());
  CHECK_FALSE(h->pressure.has_value());
  CHECK(h->cpu_count == 4);
  CHECK(h->memory_total_bytes == 8254529536ull);
  CHECK(h->memory_available_bytes == (405156ull + 208336 + 5893492) * 1024);
  CHECK(h->uptime_seconds == 1912043.78);
  CHECK(h->boot_id == "5f3c1a7e-0b9d-4c2e-9a61-3d8e2f7b4c10");
  CHECK(h->filesystems.size() == 1);
  CHECK(collector.counters().psi_errors == 0);
}

TEST_CASE("HostHealthCollector computes cpu_usage_ratio from consecutive samples") {
  TempDir dir;
  fs::path root = copyFixture(dir, "psi");
  const fs::path stat = root / "proc/stat";
  // busy 200, idle+iowait 800; then busy 350, idle+iowait 1250: 150 / 600.
  const std::string a = "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\n";
  const std::string b = "cpu  200 10 120 1100 150 10 5 5 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\n";
  HostHealthCollector collector(root, {});

  writeFile(stat, a);
  REQUIRE(collector.sample().value().cpu_usage_ratio == 0);

  writeFile(stat, b);
  CHECK(collector.sample().value().cpu_usage_ratio == 0.25);

  SUBCASE("no tick elapsed repeats the previous ratio") {
    CHECK(collector.sample().value().cpu_usage_ratio == 0.25);
    CHECK(collector.warnings().empty());
  }
  SUBCASE("counters going backwards restart from 0, then recover") {
    writeFile(stat, a);
    CHECK(collector.sample().value().cpu_usage_ratio == 0);
    CHECK(anyContains(collector.warnings(), "went backwards"));
    CHECK(collector.counters().counter_resets == 1);
    writeFile(stat, b);
    CHECK(collector.sample().value().cpu_usage_ratio == 0.25);
    CHECK(collector.warnings().empty());
  }
  SUBCASE("a failed sample keeps the baseline") {
    HostHealthCollector fresh(root, {});
    writeFile(stat, a);
    REQUIRE(fresh.sample().has_value());
    writeFile(stat, "cpu  1 2");
    REQUIRE_FALSE(fresh.sample().has_value());
    writeFile(stat, b);
    CHECK(fresh.sample().value().cpu_usage_ratio == 0.25);
    CHECK(fresh.counters().failures == 1);
    CHECK(fresh.counters().samples == 2);
  }
}

TEST_CASE("HostHealthCollector reads files larger than its initial buffer, up to a limit") {
  TempDir dir;
  fs::path root = copyFixture(dir, "psi");
  // A 1024-CPU host: about 50 KiB of cpu lines, past the 16 KiB initial buffer.
  std::string stat = "cpu  300 0 100 600 0 0 0 0 0 0\n";
  for (int i = 0; i < 1024; ++i) {
    stat += "cpu" + std::to_string(i) + " 123456 0 654321 987654321 12345 0 5432 0 0 0\n";
  }
  REQUIRE(stat.size() > 32 * 1024);
  writeFile(root / "proc/stat", stat);
  HostHealthCollector collector(root, {});
  auto h = collector.sample();
  REQUIRE_MESSAGE(h.has_value(), h.error().describe());
  CHECK(h->cpu_count == 1024);

  writeFile(root / "proc/meminfo", std::string(5 << 20, 'x'));
  auto big = collector.sample();
  REQUIRE_FALSE(big.has_value());
  CHECK(big.error().code == ErrorCode::kIo);
  CHECK(contains(big.error().message, "proc/meminfo: File too large"));
}

TEST_CASE("HostHealthCollector skips a missing mount with a warning") {
  HostHealthCollector collector(testData("hostroot/psi"), {"/proc", "/does/not/exist", "/"});
  for (int i = 0; i < 2; ++i) {
    auto h = collector.sample();
    REQUIRE(h.has_value());
    REQUIRE(h->filesystems.size() == 2);
    CHECK(h->filesystems[0].mount_point == "/proc");
    CHECK(h->filesystems[1].mount_point == "/");
    REQUIRE(collector.warnings().size() == 1);
    CHECK(contains(collector.warnings()[0], "filesystem /does/not/exist: statvfs "));
    CHECK(contains(collector.warnings()[0], "hostroot/psi/does/not/exist"));
  }
  CHECK(collector.counters().mount_errors == 2);
}

TEST_CASE("HostHealthCollector: PSI present but unusable gives no pressure") {
  TempDir dir;
  fs::path root = copyFixture(dir, "psi");

  SUBCASE("empty proc/pressure directory: silent") {
    fs::remove_all(root / "proc/pressure");
    fs::create_directories(root / "proc/pressure");
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE(h.has_value());
    CHECK_FALSE(h->pressure.has_value());
    CHECK(collector.warnings().empty());
    CHECK(collector.counters().psi_errors == 0);
  }
  SUBCASE("unreadable file: warning") {
    // A directory where the file should be: open succeeds, read fails (EISDIR).
    fs::remove(root / "proc/pressure/memory");
    fs::create_directories(root / "proc/pressure/memory");
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE(h.has_value());
    CHECK_FALSE(h->pressure.has_value());
    REQUIRE(collector.warnings().size() == 1);
    CHECK(contains(collector.warnings()[0], "proc/pressure/memory"));
    CHECK(collector.counters().psi_errors == 1);
  }
  SUBCASE("malformed file: warning naming it") {
    writeFile(root / "proc/pressure/io", "some avg10=garbage\n");
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE(h.has_value());
    CHECK_FALSE(h->pressure.has_value());
    CHECK(anyContains(collector.warnings(), "pressure: /proc/pressure/io: bad avg10"));
  }
  SUBCASE("memory without a full line: warning") {
    writeFile(root / "proc/pressure/memory", "some avg10=0 avg60=0 avg300=0 total=0\n");
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE(h.has_value());
    CHECK_FALSE(h->pressure.has_value());
    CHECK(anyContains(collector.warnings(), "/proc/pressure/memory: no full line"));
  }
}

TEST_CASE("HostHealthCollector fails clearly on a broken root") {
  SUBCASE("truncated /proc/stat") {
    HostHealthCollector collector(testData("hostroot/broken"), {"/"});
    auto h = collector.sample();
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().code == ErrorCode::kParse);
    CHECK(h.error().message ==
          "/proc/stat: cpu line has 3 values, need at least 4 (user nice "
          "system idle)");
    CHECK(collector.counters().failures == 1);
    CHECK(collector.counters().samples == 0);
  }
  SUBCASE("garbage /proc/meminfo") {
    TempDir dir;
    fs::path root = copyFixture(dir, "psi");
    fs::copy_file(testData("hostroot/broken/proc/meminfo"), root / "proc/meminfo",
                  fs::copy_options::overwrite_existing);
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().code == ErrorCode::kParse);
    CHECK(h.error().message == "/proc/meminfo: bad number \"lots\" for MemTotal");
  }
  SUBCASE("missing files") {
    TempDir dir;
    HostHealthCollector collector(dir.path(), {"/"});
    auto h = collector.sample();
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().code == ErrorCode::kIo);
    CHECK(h.error().message ==
          "open " + (dir.path() / "proc/stat").string() + ": No such file or directory");
    for (const char* name : {"proc/meminfo", "proc/loadavg", "proc/uptime"}) {
      CAPTURE(name);
      fs::path full = copyFixture(dir, "psi");
      fs::remove(full / name);
      HostHealthCollector c(full, {});
      auto r = c.sample();
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == ErrorCode::kIo);
      CHECK(contains(r.error().message, name));
      fs::remove_all(full);
    }
  }
  SUBCASE("bad boot_id degrades to empty with a warning") {
    TempDir dir;
    fs::path root = copyFixture(dir, "psi");
    fs::copy_file(testData("hostroot/broken/proc/sys/kernel/random/boot_id"),
                  root / "proc/sys/kernel/random/boot_id", fs::copy_options::overwrite_existing);
    HostHealthCollector collector(root, {});
    auto h = collector.sample();
    REQUIRE(h.has_value());
    CHECK(h->boot_id.empty());
    CHECK(
        anyContains(collector.warnings(), "boot id: /proc/sys/kernel/random/boot_id: not a UUID"));
    CHECK(collector.counters().boot_id_errors == 1);
  }
}

TEST_CASE("HostHealthCollector samples the real host root") {
  HostHealthCollector collector("/", {"/"});
  auto first = collector.sample();
  REQUIRE_MESSAGE(first.has_value(), first.error().describe());
  // Burn some CPU so the interval has ticks in it.
  volatile uint64_t x = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  while (std::chrono::steady_clock::now() < until) x = x + 1;
  auto h = collector.sample();
  REQUIRE_MESSAGE(h.has_value(), h.error().describe());
  CHECK(collector.warnings().empty());
  CHECK(h->memory_total_bytes > 0);
  CHECK(h->memory_available_bytes <= h->memory_total_bytes);
  CHECK(h->cpu_count >= 1);
  CHECK(h->cpu_count == static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  CHECK(h->cpu_usage_ratio >= 0);
  CHECK(h->cpu_usage_ratio <= 1);
  CHECK(h->boot_id.size() == 36);
  CHECK(h->boot_id == first->boot_id);
  CHECK(h->uptime_seconds > 0);
  CHECK(h->uptime_seconds >= first->uptime_seconds);
  CHECK(h->pressure.has_value() == fs::exists("/proc/pressure/cpu"));
  REQUIRE(h->filesystems.size() == 1);
  CHECK(h->filesystems[0].mount_point == "/");
  CHECK(h->filesystems[0].size_bytes > 0);
}

// Not a test: `unit_agent -tc='*benchmark*' --no-skip` prints the cost of sample().
TEST_CASE("benchmark: HostHealthCollector::sample" * doctest::skip()) {
  for (const std::string& root :
       {std::string("/"), std::string(rampart::testing::kTestDataDir) + "/hostroot/psi"}) {
    HostHealthCollector collector(root, {"/"});
    REQUIRE(collector.sample().has_value());
    constexpr int kIterations = 1000;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) REQUIRE(collector.sample().has_value());
    auto elapsed = std::chrono::steady_clock::now() - start;
    double us = std::chrono::duration<double, std::micro>(elapsed).count() / kIterations;
    std::printf("host root %s: %.1f us per sample (%d samples)\n", root.c_str(), us, kIterations);
  }
}
