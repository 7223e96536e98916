#include <sched.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "torchllm/device.h"

namespace torchllm {
namespace {

bool read_first_line(const std::string& path, std::string* line) {
  std::ifstream in(path);
  return in && std::getline(in, *line);
}

// The CPU quota of the process's cgroup in CPUs (rounded up); 0 when there is none. cgroup v2's cpu.max
// ("QUOTA PERIOD" or "max PERIOD"), else v1's cpu.cfs_quota_us / cpu.cfs_period_us.
int cgroup_cpu_limit(const std::string& cgroup_dir) {
  std::string line;
  if (read_first_line(cgroup_dir + "/cpu.max", &line)) {
    std::istringstream fields(line);
    std::string quota;
    double period = 0;
    if (fields >> quota >> period && quota != "max" && period > 0) {
      return static_cast<int>(std::ceil(std::stod(quota) / period));
    }
    return 0;
  }
  std::string quota, period;
  if (read_first_line(cgroup_dir + "/cpu/cpu.cfs_quota_us", &quota) &&
      read_first_line(cgroup_dir + "/cpu/cpu.cfs_period_us", &period)) {
    const double q = std::stod(quota), p = std::stod(period);
    if (q > 0 && p > 0) return static_cast<int>(std::ceil(q / p));
  }
  return 0;
}

}  // namespace

int math_threads_for(const std::vector<int>& allowed_cpus, const std::string& cpu_sysfs_dir,
                     const std::string& cgroup_dir) {
  // Hyperthreads of one core share its vector units: one thread per physical core, as llama.cpp does.
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu : allowed_cpus) {
    const std::string topology = cpu_sysfs_dir + "/cpu" + std::to_string(cpu) + "/topology/";
    std::string package, core;
    if (!read_first_line(topology + "physical_package_id", &package) ||
        !read_first_line(topology + "core_id", &core)) {
      package = "cpu";
      core = std::to_string(cpu);  // unknown topology: every CPU a core
    }
    cores.emplace(package, core);
  }
  int threads = static_cast<int>(cores.size());
  const int limit = cgroup_cpu_limit(cgroup_dir);
  if (limit > 0 && limit < threads) threads = limit;
  return threads > 0 ? threads : 1;
}

int default_cpu_threads() {
  std::vector<int> allowed;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
    }
  }
  if (allowed.empty()) {
    for (unsigned cpu = 0; cpu < std::max(1u, std::thread::hardware_concurrency()); ++cpu)
      allowed.push_back(static_cast<int>(cpu));
  }
  return math_threads_for(allowed, "/sys/devices/system/cpu", "/sys/fs/cgroup");
}

}  // namespace torchllm
