// alloc_soak — runs one graph with large outputs many times and reports the
// process's resident set and page faults, to show that the cpu device's
// caching allocator (kernels/cpu/caching_allocator.h) reaches a steady state:
// after the first runs every large output is a reused block, no new pages
// are mapped, and memory stays bounded.
//
// The graph mixes output sizes: x (float32[n], fed) -> a = x + x,
// b = a * x, e = Exp(b * 0.5), c = Concat(a, b, e, x) (4n), and the fetches
// ReduceSum(c) and c itself (so a block also leaves the run through the
// caller, and returns to the cache when the caller drops it).
//
//   bazel run -c opt //tools/bench:alloc_soak -- --runs=1000000
//
// Flags: --runs=N (default 1000000), --elements=n (default 65536: 256 KiB
// arrays, the smallest cached size, and a 1 MiB Concat), --reports=K
// (default 10). Prints one line per report and a verdict; exits 1 when the
// resident set grew by more than 10% (and 8 MiB) between the first report
// after warm-up and the end, or a run failed.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "weft.h"

namespace {

struct Sample {
  int64_t rss_kib = 0;
  int64_t minor_faults = 0;
};

Sample Measure() {
  Sample s;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    long size = 0, resident = 0;
    if (std::fscanf(f, "%ld %ld", &size, &resident) == 2) {
      s.rss_kib = resident * (sysconf(_SC_PAGESIZE) / 1024);
    }
    std::fclose(f);
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) s.minor_faults = usage.ru_minflt;
  return s;
}

bool ParseFlag(const char* arg, const char* name, int64_t& value) {
  const size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  char* end = nullptr;
  const long long v = std::strtoll(arg + len + 1, &end, 10);
  if (end == arg + len + 1 || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "alloc_soak: %s needs a positive integer, got '%s'\n",
                 name, arg + len + 1);
    std::exit(2);
  }
  value = v;
  return true;
}

}  // namespace

// Long (~100 lines): the soak's whole driver (flags, the graph, the run loop
// and its periodic RSS and page-fault reports) in one readable sequence.
int main(int argc, char** argv) {
  int64_t runs = 1000000, elements = 65536, reports = 10;
  for (int i = 1; i < argc; ++i) {
    if (!ParseFlag(argv[i], "--runs", runs) &&
        !ParseFlag(argv[i], "--elements", elements) &&
        !ParseFlag(argv[i], "--reports", reports)) {
      std::fprintf(stderr,
                   "alloc_soak: unknown flag '%s'\nusage: alloc_soak "
                   "[--runs=N] [--elements=n] [--reports=K]\n",
                   argv[i]);
      return 2;
    }
  }

  using weft::DType;
  using weft::NDArray;
  using weft::Shape;
  using weft::Tensor;
  namespace ops = weft::ops;
  weft::Graph g = weft::Graph::Create("soak");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{elements}, {.graph = g});
  Tensor a = ops::Add(x, x, {.graph = g});
  Tensor b = ops::Mul(a, x, {.graph = g});
  Tensor half = ops::Const(NDArray::Scalar(0.5f), {.graph = g});
  Tensor e = ops::Exp(ops::Mul(b, half, {.graph = g}), {.graph = g});
  Tensor c = ops::Concat({a, b, e, x}, 0, {.graph = g});
  Tensor sum = ops::ReduceSum(c, {0}, {.graph = g});
  absl::StatusOr<std::unique_ptr<weft::Session>> session =
      weft::Session::Create(g);
  if (!session.ok()) {
    std::fprintf(stderr, "alloc_soak: %s\n",
                 std::string(session.status().message()).c_str());
    return 1;
  }
  std::vector<float> values(static_cast<size_t>(elements));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
  }
  absl::StatusOr<NDArray> input = NDArray::Create(values, Shape{elements});
  if (!input.ok()) {
    std::fprintf(stderr, "alloc_soak: %s\n",
                 std::string(input.status().message()).c_str());
    return 1;
  }

  std::printf(
      "alloc_soak: %lld runs, %lld-element arrays (%lld KiB), "
      "Concat %lld KiB\n",
      static_cast<long long>(runs), static_cast<long long>(elements),
      static_cast<long long>(elements * 4 / 1024),
      static_cast<long long>(elements * 16 / 1024));
  std::printf("%10s %10s %12s %14s %10s\n", "run", "rss_kib", "minflt",
              "minflt/run", "us/run");
  const Sample start = Measure();
  std::printf("%10d %10lld %12lld %14s %10s\n", 0,
              static_cast<long long>(start.rss_kib),
              static_cast<long long>(start.minor_faults), "-", "-");
  const int64_t warmup = std::min<int64_t>(runs, 100);
  const int64_t every = std::max<int64_t>(1, (runs - warmup) / reports);
  Sample last = start, after_warmup = start;
  absl::Time last_time = absl::Now();
  int64_t last_run = 0;
  for (int64_t run = 1; run <= runs; ++run) {
    absl::StatusOr<std::vector<NDArray>> out =
        (*session)->Run({{x, *input}}, {sum, c});
    if (!out.ok()) {
      std::fprintf(stderr, "alloc_soak: run %lld failed: %s\n",
                   static_cast<long long>(run),
                   std::string(out.status().message()).c_str());
      return 1;
    }
    if (run == warmup || (run > warmup && (run - warmup) % every == 0) ||
        run == runs) {
      const Sample now = Measure();
      const absl::Time t = absl::Now();
      std::printf("%10lld %10lld %12lld %14.3f %10.2f\n",
                  static_cast<long long>(run),
                  static_cast<long long>(now.rss_kib),
                  static_cast<long long>(now.minor_faults),
                  static_cast<double>(now.minor_faults - last.minor_faults) /
                      static_cast<double>(run - last_run),
                  absl::ToDoubleMicroseconds(t - last_time) /
                      static_cast<double>(run - last_run));
      std::fflush(stdout);
      if (run == warmup) after_warmup = now;
      last = now;
      last_time = t;
      last_run = run;
    }
  }
  const int64_t growth = last.rss_kib - after_warmup.rss_kib;
  const bool bounded =
      growth <= std::max<int64_t>(after_warmup.rss_kib / 10, 8 * 1024);
  std::printf(
      "rss: start %lld KiB, after %lld warm-up runs %lld KiB, end %lld KiB "
      "(%+lld KiB); minor faults after warm-up: %lld in %lld runs; %s\n",
      static_cast<long long>(start.rss_kib), static_cast<long long>(warmup),
      static_cast<long long>(after_warmup.rss_kib),
      static_cast<long long>(last.rss_kib), static_cast<long long>(growth),
      static_cast<long long>(last.minor_faults - after_warmup.minor_faults),
      static_cast<long long>(runs - warmup), bounded ? "bounded" : "GREW");
  return bounded ? 0 : 1;
}
