#include "host_health.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "rampart/text.h"

namespace rampart::agent {
namespace {

constexpr std::string_view kStat = "/proc/stat";
constexpr std::string_view kMeminfo = "/proc/meminfo";
constexpr std::string_view kLoadavg = "/proc/loadavg";
constexpr std::string_view kUptime = "/proc/uptime";
constexpr std::string_view kBootId = "/proc/sys/kernel/random/boot_id";

// A file past this size is not a procfs file we know; refuse rather than
// grow the buffer without bound when the host root points somewhere odd.
constexpr size_t kMaxFileBytes = 4 << 20;

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view nextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

// Next blank-separated token; empty at the end of the line.
std::string_view nextField(std::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && isBlank(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !isBlank(rest[j])) ++j;
  std::string_view field = rest.substr(i, j - i);
  rest = rest.substr(j);
  return field;
}

bool parseU64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Finite, non-negative decimal; from_chars is locale-independent.
bool parseDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return ec == std::errc{} && ptr == s.data() + s.size() && std::isfinite(out) && out >= 0;
}

// The offending text, quoted and cut short, for error messages.
std::string quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out.append("...");
  out.append("\"");
  return out;
}

std::unexpected<Error> parseError(std::string_view file, std::string_view what) {
  std::string message(file);
  message.append(": ");
  message.append(what);
  return fail(ErrorCode::kParse, std::move(message));
}

std::string errnoText(int err) {
  return std::strerror(err);
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string underRoot(const std::filesystem::path& root, std::string_view host_path) {
  // path / "/x" would discard the root; host paths are made relative first.
  while (!host_path.empty() && host_path.front() == '/') host_path.remove_prefix(1);
  return (root / host_path).lexically_normal().string();
}

}  // namespace

Result<CpuStat> parseProcStat(std::string_view text) {
  CpuStat stat{};
  bool have_aggregate = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view line = nextLine(rest);
    std::string_view fields = line;
    std::string_view name = nextField(fields);
    if (!name.starts_with("cpu")) {
      // The cpu lines come first; nothing after them is needed.
      if (have_aggregate) break;
      continue;
    }
    if (name == "cpu") {
      if (have_aggregate) return parseError(kStat, "two aggregate cpu lines");
      std::array<uint64_t, 8> values{};
      size_t n = 0;
      for (std::string_view f = nextField(fields); !f.empty(); f = nextField(fields)) {
        uint64_t v = 0;
        if (!parseU64(f, v)) return parseError(kStat, "bad number " + quote(f) + " in cpu line");
        if (n < values.size()) values[n] = v;
        ++n;
      }
      if (n < 4) {
        return parseError(kStat, "cpu line has " + std::to_string(n) +
                                     " values, need at least 4 (user nice system idle)");
      }
      stat.times = CpuTimes{values[0], values[1], values[2], values[3],
                            values[4], values[5], values[6], values[7]};
      have_aggregate = true;
      continue;
    }
    uint64_t index = 0;
    if (!parseU64(name.substr(3), index)) {
      return parseError(kStat, "unexpected line name " + quote(name));
    }
    ++stat.cpu_count;
  }
  if (!have_aggregate) return parseError(kStat, "no aggregate cpu line");
  if (stat.cpu_count == 0) return parseError(kStat, "no per-CPU (cpuN) lines");
  return stat;
}

Result<MemInfo> parseMeminfo(std::string_view text) {
  // Values in kB; nullopt until seen.
  std::optional<uint64_t> total, available, free, buffers, cached;
  struct Wanted {
    std::string_view key;
    std::optional<uint64_t>* slot;
  };
  const std::array<Wanted, 5> wanted{{{"MemTotal", &total},
                                      {"MemAvailable", &available},
                                      {"MemFree", &free},
                                      {"Buffers", &buffers},
                                      {"Cached", &cached}}};
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view line = nextLine(rest);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    auto it =
        std::find_if(wanted.begin(), wanted.end(), [key](const Wanted& w) { return w.key == key; });
    if (it == wanted.end()) continue;
    std::string_view fields = line.substr(colon + 1);
    std::string_view number = nextField(fields);
    std::string_view unit = nextField(fields);
    uint64_t kb = 0;
    if (!parseU64(number, kb)) {
      return parseError(kMeminfo, "bad number " + quote(number) + " for " + std::string(key));
    }
    if (unit != "kB") {
      return parseError(kMeminfo,
                        "unit " + quote(unit) + " for " + std::string(key) + ", expected kB");
    }
    if (kb > std::numeric_limits<uint64_t>::max() / 1024) {
      return parseError(kMeminfo, std::string(key) + " overflows 64 bits in bytes");
    }
    if (it->slot->has_value()) return parseError(kMeminfo, "duplicate " + std::string(key));
    *it->slot = kb;
  }
  if (!total) return parseError(kMeminfo, "no MemTotal line");
  if (*total == 0) return parseError(kMeminfo, "MemTotal is 0");
  MemInfo info;
  info.total_bytes = *total * 1024;
  if (available) {
    info.available_bytes = *available * 1024;
  } else {
    if (!free || !buffers || !cached) {
      return parseError(kMeminfo, "no MemAvailable, and MemFree, Buffers or Cached is missing");
    }
    // kB values below 2^54 each: the sum cannot overflow before scaling is checked.
    uint64_t kb = *free + *buffers + *cached;
    info.available_bytes = kb > *total ? info.total_bytes : kb * 1024;
    info.available_estimated = true;
  }
  info.available_bytes = std::min(info.available_bytes, info.total_bytes);
  return info;
}

Result<LoadAvg> parseLoadavg(std::string_view text) {
  std::string_view rest = text;
  std::array<double, 3> v{};
  for (size_t i = 0; i < v.size(); ++i) {
    std::string_view f = nextField(rest);
    if (f.empty()) {
      return parseError(kLoadavg, "has " + std::to_string(i) + " fields, need 3");
    }
    if (!parseDouble(f, v[i])) return parseError(kLoadavg, "bad load average " + quote(f));
  }
  return LoadAvg{v[0], v[1], v[2]};
}

Result<double> parseUptime(std::string_view text) {
  std::string_view rest = text;
  std::string_view f = nextField(rest);
  if (f.empty()) return parseError(kUptime, "empty");
  double seconds = 0;
  if (!parseDouble(f, seconds)) return parseError(kUptime, "bad uptime " + quote(f));
  return seconds;
}

Result<PressureFile> parsePressure(std::string_view text, std::string_view file) {
  std::optional<PressureLine> some, full;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view fields = nextLine(rest);
    std::string_view kind = nextField(fields);
    std::optional<PressureLine>* slot = kind == "some" ? &some : kind == "full" ? &full : nullptr;
    if (slot == nullptr) continue;
    if (slot->has_value()) return parseError(file, "duplicate " + std::string(kind) + " line");
    PressureLine line;
    unsigned seen = 0;  // bit per required key
    for (std::string_view kv = nextField(fields); !kv.empty(); kv = nextField(fields)) {
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) {
        return parseError(file, "expected key=value, got " + quote(kv));
      }
      std::string_view key = kv.substr(0, eq);
      std::string_view value = kv.substr(eq + 1);
      double* avg = key == "avg10"    ? &line.avg10
                    : key == "avg60"  ? &line.avg60
                    : key == "avg300" ? &line.avg300
                                      : nullptr;
      if (avg != nullptr) {
        if (!parseDouble(value, *avg) || *avg > 100) {
          return parseError(file, "bad " + std::string(key) + " " + quote(value));
        }
        seen |= key == "avg10" ? 1u : key == "avg60" ? 2u : 4u;
      } else if (key == "total") {
        if (!parseU64(value, line.total_us)) {
          return parseError(file, "bad total " + quote(value));
        }
        seen |= 8u;
      }
    }
    if (seen != 15u) {
      return parseError(file, std::string(kind) + " line lacks avg10, avg60, avg300 or total");
    }
    *slot = line;
  }
  if (!some) return parseError(file, "no some line");
  return PressureFile{*some, full};
}

Result<std::string> parseBootId(std::string_view text) {
  std::string_view id = trim(text);
  bool ok = id.size() == 36;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ok = c == '-';
    } else {
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
  }
  if (!ok) return parseError(kBootId, "not a UUID: " + quote(id));
  return std::string(id);
}

std::optional<double> cpuUsageRatio(const CpuTimes& prev, const CpuTimes& cur) {
  if (cur.total() < prev.total()) return std::nullopt;
  auto delta = [](uint64_t a, uint64_t b) { return b > a ? b - a : 0; };
  uint64_t busy = delta(prev.busy(), cur.busy());
  uint64_t idle = delta(prev.idleAll(), cur.idleAll());
  if (busy + idle == 0) return std::nullopt;
  return static_cast<double>(busy) / static_cast<double>(busy + idle);
}

HostHealthCollector::HostHealthCollector(std::filesystem::path host_root,
                                         std::vector<std::string> mount_points)
    : host_root_(std::move(host_root)),
      stat_path_(underRoot(host_root_, kStat)),
      meminfo_path_(underRoot(host_root_, kMeminfo)),
      loadavg_path_(underRoot(host_root_, kLoadavg)),
      uptime_path_(underRoot(host_root_, kUptime)),
      boot_id_path_(underRoot(host_root_, kBootId)),
      psi_cpu_path_(underRoot(host_root_, "/proc/pressure/cpu")),
      psi_memory_path_(underRoot(host_root_, "/proc/pressure/memory")),
      psi_io_path_(underRoot(host_root_, "/proc/pressure/io")) {
  mounts_.reserve(mount_points.size());
  for (std::string& m : mount_points) {
    std::string path = underRoot(host_root_, m);
    mounts_.push_back(Mount{std::move(m), std::move(path)});
  }
  buf_.resize(16 << 10);
}

Result<std::string_view> HostHealthCollector::read(const std::string& path, int* err) {
  if (err != nullptr) *err = 0;
  auto io_error = [&](int e, const char* op) {
    if (err != nullptr) *err = e;
    return fail(ErrorCode::kIo, std::string(op) + " " + path + ": " + errnoText(e));
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return io_error(errno, "open");
  size_t len = 0;
  for (;;) {
    if (len == buf_.size()) {
      if (buf_.size() >= kMaxFileBytes) return io_error(EFBIG, "read");
      buf_.resize(buf_.size() * 2);
    }
    ssize_t n = ::read(fd.get(), buf_.data() + len, buf_.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno, "read");
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
    // procfs (seq_file, sysctl) and regular files return less than asked only
    // at the end: skip the read that would confirm it, one syscall per file.
    if (len < buf_.size()) break;
  }
  return std::string_view(buf_.data(), len);
}

void HostHealthCollector::warn(std::string message) {
  warnings_.push_back(std::move(message));
}

std::optional<Pressure> HostHealthCollector::samplePressure() {
  struct Source {
    const std::string* path;
    std::string_view name;
  };
  const std::array<Source, 3> sources{{{&psi_cpu_path_, "/proc/pressure/cpu"},
                                       {&psi_memory_path_, "/proc/pressure/memory"},
                                       {&psi_io_path_, "/proc/pressure/io"}}};
  std::array<PressureFile, 3> files;
  for (size_t i = 0; i < sources.size(); ++i) {
    int err = 0;
    auto text = read(*sources[i].path, &err);
    if (!text) {
      // No PSI in this kernel (ENOENT) or disabled with psi=0 (EOPNOTSUPP):
      // an expected configuration, not a fault.
      if (err != ENOENT && err != EOPNOTSUPP) {
        ++counters_.psi_errors;
        warn("pressure: " + text.error().message);
      }
      return std::nullopt;
    }
    auto parsed = parsePressure(*text, sources[i].name);
    if (!parsed) {
      ++counters_.psi_errors;
      warn("pressure: " + parsed.error().message);
      return std::nullopt;
    }
    files[i] = *parsed;
  }
  for (size_t i = 1; i < files.size(); ++i) {
    if (!files[i].full) {
      ++counters_.psi_errors;
      warn("pressure: " + std::string(sources[i].name) + ": no full line");
      return std::nullopt;
    }
  }
  Pressure p;
  p.cpu_some_avg10 = files[0].some.avg10;
  p.memory_some_avg10 = files[1].some.avg10;
  const auto& memory_full = files[1].full;
  const auto& io_full = files[2].full;
  if (!memory_full || !io_full) return std::nullopt;  // checked above; for the reader
  p.memory_full_avg10 = memory_full->avg10;
  p.io_some_avg10 = files[2].some.avg10;
  p.io_full_avg10 = io_full->avg10;
  return p;
}

void HostHealthCollector::sampleFilesystems(std::vector<Filesystem>& out) {
  out.reserve(mounts_.size());
  for (const Mount& m : mounts_) {
    struct statvfs vfs {};
    if (::statvfs(m.path.c_str(), &vfs) != 0) {
      ++counters_.mount_errors;
      warn("filesystem " + m.host_name + ": statvfs " + m.path + ": " + errnoText(errno));
      continue;
    }
    Filesystem fs;
    fs.mount_point = m.host_name;
    fs.size_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    fs.avail_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    fs.files = vfs.f_files;
    fs.files_free = vfs.f_ffree;
    out.push_back(std::move(fs));
  }
}

Result<HostHealth> HostHealthCollector::sample() {
  warnings_.clear();
  auto failed = [this](Error e) {
    ++counters_.failures;
    return std::unexpected<Error>(std::move(e));
  };
  HostHealth h;

  auto stat_text = read(stat_path_);
  if (!stat_text) return failed(stat_text.error());
  auto stat = parseProcStat(*stat_text);
  if (!stat) return failed(stat.error());
  h.cpu_count = stat->cpu_count;

  auto mem_text = read(meminfo_path_);
  if (!mem_text) return failed(mem_text.error());
  auto mem = parseMeminfo(*mem_text);
  if (!mem) return failed(mem.error());
  h.memory_total_bytes = mem->total_bytes;
  h.memory_available_bytes = mem->available_bytes;

  auto load_text = read(loadavg_path_);
  if (!load_text) return failed(load_text.error());
  auto load = parseLoadavg(*load_text);
  if (!load) return failed(load.error());
  h.load1 = load->load1;
  h.load5 = load->load5;
  h.load15 = load->load15;

  auto uptime_text = read(uptime_path_);
  if (!uptime_text) return failed(uptime_text.error());
  auto uptime = parseUptime(*uptime_text);
  if (!uptime) return failed(uptime.error());
  h.uptime_seconds = *uptime;

  auto boot_text = read(boot_id_path_);
  auto boot_id =
      boot_text ? parseBootId(*boot_text) : Result<std::string>(std::unexpected(boot_text.error()));
  if (boot_id) {
    h.boot_id = std::move(*boot_id);
  } else {
    ++counters_.boot_id_errors;
    warn("boot id: " + boot_id.error().message);
  }

  h.pressure = samplePressure();
  sampleFilesystems(h.filesystems);

  // The baseline moves only on a successful sample, so a failed one widens
  // the next interval instead of losing it.
  const CpuTimes& cur = stat->times;
  if (!prev_cpu_) {
    last_ratio_ = 0;
  } else if (cur.total() < prev_cpu_->total()) {
    ++counters_.counter_resets;
    warn("cpu: /proc/stat counters went backwards; usage restarts from this sample");
    last_ratio_ = 0;
  } else if (auto ratio = cpuUsageRatio(*prev_cpu_, cur)) {
    last_ratio_ = *ratio;
  }
  prev_cpu_ = cur;
  h.cpu_usage_ratio = last_ratio_;
  ++counters_.samples;
  return h;
}

}  // namespace rampart::agent
