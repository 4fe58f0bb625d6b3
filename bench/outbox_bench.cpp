// Notifier throughput with the durable outbox off, with group commit, and with an fsync per
// message, side by side in one run: N notifications through notify() and flush() (every one
// confirmed), median of several runs per mode.
//
//   outbox_bench [url (memory://)] [runs (5)] [count (50000)] [outbox parent dir (/tmp)] [modes (ofp)]
//
// `modes` picks the modes to run, for profiling one of them: o = off, g = group commit,
// p = fsync per message (default: all three).
// The per-message mode sends count/20 notifications (one fdatasync each would take minutes).
// Besides msgs/s it prints the process's CPU time per notification (user + system, all
// threads, getrusage): on a machine other work shares, the rates move with the load, the CPU
// cost much less.
#include <herald/herald.hpp>

#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct Mode {
  const char* name;
  bool outbox;
  herald::OutboxDurability durability;
  std::size_t divisor;
};

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct RunResult {
  double rate;            // msgs/s
  double cpu_us_per_msg;  // CPU time of the process per notification
};

RunResult run_once(const std::shared_ptr<herald::Transport>& transport, const Mode& mode, std::size_t count,
                   const std::string& dir) {
  std::filesystem::remove_all(dir);
  herald::NotifierOptions options;
  options.publisher_id = "bench.outbox";
  options.topics = {"herald_outbox_bench"};
  if (mode.outbox) {
    options.outbox.directory = dir;
    options.outbox.durability = mode.durability;
  }
  herald::Notifier notifier(transport, options);
  rapidjson::Document context;
  context.Parse(R"({"user": "alice", "project_id": "p1", "request_id": "req-123"})");
  rapidjson::Document payload;
  payload.Parse(R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active",
    "host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, "memory_mb": 2048},
    "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 12345, "tags": ["a", "b", "c"]})");
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < count; ++i) notifier.audit(context, "compute.instance.create.end", payload);
  const herald::FlushResult flushed = notifier.flush(std::chrono::minutes(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  if (!flushed.ok() || notifier.stats().confirmed != count) {
    std::fprintf(stderr, "%s: only %llu of %zu confirmed\n", mode.name,
                 static_cast<unsigned long long>(notifier.stats().confirmed), count);
    std::exit(1);
  }
  return {static_cast<double>(count) / seconds, 1e6 * cpu / static_cast<double>(count)};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "memory://";
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::size_t count = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 50'000;
  const std::string parent = argc > 4 ? argv[4] : "/tmp";
  const std::string dir = parent + "/herald-outbox-bench-" + std::to_string(::getpid());
  const std::string picked = argc > 5 ? argv[5] : "ogp";
  auto transport = herald::Transport::open(url);
  const Mode modes[] = {{"off", false, herald::OutboxDurability::group_commit, 1},
                        {"group commit (10 ms)", true, herald::OutboxDurability::group_commit, 1},
                        {"fsync per message", true, herald::OutboxDurability::per_message, 20}};
  // Warm-up (connection, declarations, page cache).
  (void)run_once(transport, modes[0], std::max<std::size_t>(count / 10, 1), dir);
  const char mode_letters[] = {'o', 'g', 'p'};
  auto wanted = [&](std::size_t m) { return picked.find(mode_letters[m]) != std::string::npos; };
  std::vector<std::vector<double>> rates(3);
  std::vector<std::vector<double>> cpu(3);
  for (int r = 0; r < runs; ++r)  // interleaved, so that drift hits every mode alike
    for (std::size_t m = 0; m < 3; ++m)
      if (wanted(m)) {
        const RunResult result = run_once(transport, modes[m], count / modes[m].divisor, dir);
        rates[m].push_back(result.rate);
        cpu[m].push_back(result.cpu_us_per_msg);
      }
  std::filesystem::remove_all(dir);
  std::printf("url %s, %d runs, %zu notifications per run (fsync per message: %zu)\n",
              transport->url().to_string().c_str(), runs, count, count / modes[2].divisor);
  std::printf(
      "| outbox | median msgs/s | min | max | vs off | CPU µs/msg (median) |\n|---|---:|---:|---:|---:|---:|\n");
  const double off = wanted(0) ? median(rates[0]) : 0;
  for (std::size_t m = 0; m < 3; ++m) {
    if (!wanted(m)) continue;
    std::printf("| %s | %.0f | %.0f | %.0f | %.0f %% | %.2f |\n", modes[m].name, median(rates[m]),
                *std::min_element(rates[m].begin(), rates[m].end()),
                *std::max_element(rates[m].begin(), rates[m].end()), off > 0 ? 100.0 * median(rates[m]) / off : 0.0,
                median(cpu[m]));
  }
  return 0;
}
