// The default math threads: physical cores of the affinity mask, capped by the cgroup's CPU quota (fake sysfs
// and cgroup trees here).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "tiny_checkpoint.h"
#include "torchllm/device.h"

namespace torchllm {
namespace {

void write(const std::string& path, const std::string& text) {
  std::system(("mkdir -p '" + path.substr(0, path.rfind('/')) + "'").c_str());
  std::ofstream(path) << text << "\n";
}

// Four CPUs: 0 and 1 are the hyperthreads of core 0, 2 and 3 those of core 1.
std::string smt_machine() {
  const std::string dir = testing::make_temp_dir("cpu-sysfs");
  for (int cpu = 0; cpu < 4; ++cpu) {
    const std::string topology = dir + "/cpu" + std::to_string(cpu) + "/topology/";
    write(topology + "physical_package_id", "0");
    write(topology + "core_id", std::to_string(cpu / 2));
  }
  return dir;
}

TEST(CpuThreads, OnePerPhysicalCoreOfTheAffinityMask) {
  const std::string sysfs = smt_machine(), no_cgroup = testing::make_temp_dir("cgroup-none");
  EXPECT_EQ(math_threads_for({0, 1, 2, 3}, sysfs, no_cgroup), 2);
  EXPECT_EQ(math_threads_for({0, 2}, sysfs, no_cgroup), 2);
  EXPECT_EQ(math_threads_for({0, 1}, sysfs, no_cgroup), 1);
  // Without topology files every CPU counts.
  EXPECT_EQ(math_threads_for({0, 1, 2}, testing::make_temp_dir("cpu-none"), no_cgroup), 3);
  EXPECT_EQ(math_threads_for({}, sysfs, no_cgroup), 1);
}

TEST(CpuThreads, TheCgroupQuotaCapsThem) {
  const std::string sysfs = testing::make_temp_dir("cpu-flat");
  const std::vector<int> eight{0, 1, 2, 3, 4, 5, 6, 7};
  const std::string v2 = testing::make_temp_dir("cgroup-v2");
  write(v2 + "/cpu.max", "150000 100000");  // 1.5 CPUs
  EXPECT_EQ(math_threads_for(eight, sysfs, v2), 2);
  write(v2 + "/cpu.max", "max 100000");
  EXPECT_EQ(math_threads_for(eight, sysfs, v2), 8);
  const std::string v1 = testing::make_temp_dir("cgroup-v1");
  write(v1 + "/cpu/cpu.cfs_quota_us", "300000");
  write(v1 + "/cpu/cpu.cfs_period_us", "100000");
  EXPECT_EQ(math_threads_for(eight, sysfs, v1), 3);
  write(v1 + "/cpu/cpu.cfs_quota_us", "-1");
  EXPECT_EQ(math_threads_for(eight, sysfs, v1), 8);
}

TEST(CpuThreads, TheDefaultOfThisMachineIsWithinItsCpus) {
  const int threads = default_cpu_threads();
  EXPECT_GE(threads, 1);
  EXPECT_LE(threads, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace torchllm
