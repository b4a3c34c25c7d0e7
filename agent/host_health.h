// Host health of the node the agent runs on, read from procfs and statvfs
// under a host root (node_exporter's --path.rootfs): in a DaemonSet the host's
// / is mounted read-only at /host and the collector is given "/host"; on a
// bare host, or in tests, the root is "/" or a fixture directory.
//
// Two layers:
//  - pure parsers over std::string_view, one per /proc file, that never touch
//    the file system and return kParse errors naming the file and the fault;
//  - HostHealthCollector, which reads the files with one reusable buffer
//    (open/read/close) and turns two consecutive /proc/stat readings into a
//    CPU usage ratio.
//
// Units: bytes for memory and filesystems, seconds for uptime, percent
// (0..100) for PSI averages, microseconds for PSI totals, USER_HZ ticks
// (jiffies) for CPU times. See docs/host-health.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rampart/error.h"
#include "rampart/model.h"

namespace rampart::agent {

// The aggregate "cpu" line of /proc/stat, in USER_HZ ticks. Fields a kernel
// does not print (iowait before 2.5.41, steal before 2.6.11) are 0. guest and
// guest_nice are already included in user and nice and are not kept.
struct CpuTimes {
  uint64_t user = 0;
  uint64_t nice = 0;
  uint64_t system = 0;
  uint64_t idle = 0;
  uint64_t iowait = 0;
  uint64_t irq = 0;
  uint64_t softirq = 0;
  uint64_t steal = 0;

  uint64_t total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  uint64_t idleAll() const { return idle + iowait; }
  uint64_t busy() const { return total() - idleAll(); }
  bool operator==(const CpuTimes&) const = default;
};

struct CpuStat {
  CpuTimes times;      // the aggregate line, all CPUs
  uint32_t cpu_count;  // number of "cpuN" lines: online CPUs
  bool operator==(const CpuStat&) const = default;
};

struct MemInfo {
  uint64_t total_bytes = 0;
  // MemAvailable, or MemFree + Buffers + Cached on kernels before 3.14 that
  // lack it; never more than total_bytes.
  uint64_t available_bytes = 0;
  bool available_estimated = false;  // true when the fallback was used
  bool operator==(const MemInfo&) const = default;
};

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  bool operator==(const LoadAvg&) const = default;
};

// One line of a PSI file: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0".
struct PressureLine {
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent of wall time, 0..100
  uint64_t total_us = 0;                    // cumulative stall time, microseconds
  bool operator==(const PressureLine&) const = default;
};

struct PressureFile {
  PressureLine some;
  std::optional<PressureLine> full;  // absent in /proc/pressure/cpu before Linux 5.13
  bool operator==(const PressureFile&) const = default;
};

// /proc/stat: the aggregate "cpu" line (at least user nice system idle) and
// the count of "cpuN" lines, of which there must be at least one.
Result<CpuStat> parseProcStat(std::string_view text);

// /proc/meminfo: MemTotal (required, > 0) and MemAvailable, or the fallback.
Result<MemInfo> parseMeminfo(std::string_view text);

// /proc/loadavg: the first three fields.
Result<LoadAvg> parseLoadavg(std::string_view text);

// /proc/uptime: the first field, seconds since boot.
Result<double> parseUptime(std::string_view text);

// /proc/pressure/{cpu,memory,io}. `file` names the file in error messages
// (e.g. "/proc/pressure/io"). A "some" line is required; lines of an unknown
// kind and unknown key=value pairs are ignored for forward compatibility.
Result<PressureFile> parsePressure(std::string_view text, std::string_view file);

// /proc/sys/kernel/random/boot_id: a UUID (8-4-4-4-12 hex), whitespace trimmed.
Result<std::string> parseBootId(std::string_view text);

// CPU busy fraction (0..1) between two readings of the aggregate line:
// busy = total - idle - iowait. Each delta is clamped at 0 because iowait is
// known to go backwards on some kernels. nullopt when there is no usable
// interval: no tick elapsed, or the total went backwards (the counters were
// reset, e.g. another host root).
std::optional<double> cpuUsageRatio(const CpuTimes& prev, const CpuTimes& cur);

// Counts of degraded paths since construction, for the agent's metrics.
struct HostHealthCounters {
  uint64_t samples = 0;         // successful sample() calls
  uint64_t failures = 0;        // sample() calls that returned an Error
  uint64_t mount_errors = 0;    // configured mounts skipped (statvfs failed)
  uint64_t psi_errors = 0;      // PSI files present but unreadable or malformed
  uint64_t counter_resets = 0;  // /proc/stat totals went backwards
  uint64_t boot_id_errors = 0;  // boot_id missing or malformed
};

// Samples host health under `host_root`. Not thread-safe: one owner calls
// sample(), typically once per second.
//
// sample() fails (kIo, kParse) when proc/stat, proc/meminfo, proc/loadavg or
// proc/uptime is missing or malformed. Everything else degrades without
// failing the sample and is listed in warnings():
//  - PSI: `pressure` is nullopt when proc/pressure is absent (no PSI, or
//    booted with psi=0: ENOENT / EOPNOTSUPP, silently) or when a PSI file is
//    unreadable or malformed (with a warning);
//  - a configured mount point whose statvfs fails is left out of
//    `filesystems` (with a warning);
//  - a missing or malformed boot_id leaves `boot_id` empty (with a warning).
// cpu_usage_ratio is 0 on the first sample and after the counters went
// backwards; when no tick elapsed since the previous sample it repeats the
// previous ratio.
class HostHealthCollector {
 public:
  // `mount_points` are paths as the host sees them ("/", "/var/lib/kubelet");
  // each is looked up at host_root/mount_point and reported under its host name.
  HostHealthCollector(std::filesystem::path host_root, std::vector<std::string> mount_points);

  Result<HostHealth> sample();

  // Warnings of the last sample() call, in the order they arose.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const HostHealthCounters& counters() const { return counters_; }
  const std::filesystem::path& hostRoot() const { return host_root_; }

 private:
  struct Mount {
    std::string host_name;  // as configured, reported in Filesystem::mount_point
    std::string path;       // host_root/mount_point, passed to statvfs
  };

  // Reads the whole file into buf_; the view is valid until the next read.
  // kIo errors carry the path and strerror; `err` receives errno (0 on success).
  Result<std::string_view> read(const std::string& path, int* err = nullptr);
  std::optional<Pressure> samplePressure();
  void sampleFilesystems(std::vector<Filesystem>& out);
  void warn(std::string message);

  std::filesystem::path host_root_;
  std::vector<Mount> mounts_;
  std::string stat_path_, meminfo_path_, loadavg_path_, uptime_path_, boot_id_path_;
  std::string psi_cpu_path_, psi_memory_path_, psi_io_path_;

  std::string buf_;  // grows to the largest file read, then is reused
  std::vector<std::string> warnings_;
  HostHealthCounters counters_;
  std::optional<CpuTimes> prev_cpu_;
  double last_ratio_ = 0;
};

}  // namespace rampart::agent
