// End-to-end memory:// harness: notifier threads → bounded queue → NotificationServer workers.
// Prints throughput and p50/p99 latency per worker count, and RSS over a long run.
//   herald_e2e_bench [count=1000000] [workers=1,2,8] [rss_count=0]
#include <herald/herald.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

struct RunResult {
  double seconds = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::vector<long> rss_samples;
};

RunResult run(std::size_t count, std::size_t workers, std::size_t producers, std::size_t rss_every) {
  auto transport = herald::Transport::open("memory://?max_depth=10000&overflow=block");
  // Latency of every 64th notification: enough samples, no contention on the hot path.
  std::vector<std::int64_t> latencies(count / 64 + 1, 0);
  std::atomic<std::size_t> handled{0};
  herald::Endpoint endpoint{"bench"};
  endpoint.on(herald::Priority::info, [&](const herald::Notification& n) {
    const auto& p = n.payload();
    std::int64_t seq = p["seq"].GetInt64();
    if (seq % 64 == 0) latencies[seq / 64] = now_ns() - p["sent_ns"].GetInt64();
    handled.fetch_add(1, std::memory_order_relaxed);
    return herald::Result::handled;
  });
  herald::NotificationServer server(transport, {herald::Target{}}, {endpoint},
                                    {.workers = workers, .dedup_window = 4096});
  server.start();
  herald::Notifier notifier(transport, {.publisher_id = "bench"});
  rapidjson::Document context;
  context.Parse(R"({"user": "alice", "project_id": "p1", "request_id": "req-123"})");

  RunResult result;
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      rapidjson::Document payload;
      payload.Parse(R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active",
        "host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, "memory_mb": 2048},
        "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 0, "sent_ns": 0})");
      for (std::size_t i = t; i < count; i += producers) {
        payload["seq"].SetInt64(static_cast<std::int64_t>(i));
        payload["sent_ns"].SetInt64(now_ns());
        notifier.info(context, "compute.instance.create.end", payload);
      }
    });
  std::size_t next_rss = rss_every;
  while (handled.load() < count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (rss_every && handled.load() >= next_rss) {
      result.rss_samples.push_back(rss_kib());
      next_rss += rss_every;
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& t : threads) t.join();
  server.stop();
  server.wait();
  std::sort(latencies.begin(), latencies.end());
  result.p50_us = static_cast<double>(latencies[latencies.size() / 2]) / 1000.0;
  result.p99_us = static_cast<double>(latencies[latencies.size() * 99 / 100]) / 1000.0;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::string worker_list = argc > 2 ? argv[2] : "1,2,8";
  std::size_t rss_count = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  std::stringstream list(worker_list);
  std::string item;
  std::printf("%-8s %-10s %-12s %-12s %-10s %-10s\n", "workers", "count", "seconds", "notif/s", "p50_us", "p99_us");
  while (std::getline(list, item, ',')) {
    std::size_t workers = std::strtoull(item.c_str(), nullptr, 10);
    RunResult r = run(count, workers, 1, 0);
    std::printf("%-8zu %-10zu %-12.3f %-12.0f %-10.1f %-10.1f\n", workers, count, r.seconds,
                static_cast<double>(count) / r.seconds, r.p50_us, r.p99_us);
  }
  if (rss_count) {
    RunResult r = run(rss_count, 2, 1, rss_count / 10);
    std::printf("RSS over %zu notifications (KiB, every %zu):", rss_count, rss_count / 10);
    for (long kib : r.rss_samples) std::printf(" %ld", kib);
    auto [lo, hi] = std::minmax_element(r.rss_samples.begin() + 1, r.rss_samples.end());
    std::printf("\nRSS spread after warm-up: %.1f%% (min %ld, max %ld KiB); %.0f notif/s\n",
                100.0 * static_cast<double>(*hi - *lo) / static_cast<double>(*lo), *lo, *hi,
                static_cast<double>(rss_count) / r.seconds);
  }
  return 0;
}
