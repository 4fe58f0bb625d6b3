// Notify-to-handled latency through a broker at a fixed rate: a Notifier and a
// NotificationServer (2 workers, credit 1000) in one process, on the same transport URL. The
// Notifier sends `count` notifications at `rate` per second (paced against the steady clock;
// a late sender catches up without sleeping); each payload carries its steady-clock send time,
// and the handler records handled-minus-sent for every notification. Only the public API.
//
//   RMQ_PORT=5672 herald_latency_bench <rate> [count=20000] [url-options] [warmup=500]
//
// Prints one line:
//   latency rate <target>/s achieved <r>/s count <n> p50 <us> us p99 <us> us max <us> us
//     (p50 of the first tenth <us> us, of the last tenth <us> us)
// The first `warmup` notifications (same rate) are not counted. Exits 1 if not every
// notification was handled within 60 s of the last send.
#include <herald/herald.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: RMQ_PORT=5672 herald_latency_bench <rate> [count=20000] [url-options] [warmup=500]\n");
    return 2;
  }
  const double rate = std::strtod(argv[1], nullptr);
  const std::size_t count = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20'000;
  const std::string url_options = argc > 3 ? argv[3] : "";
  const std::size_t warmup = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 500;
  if (rate <= 0 || count == 0) {
    std::fprintf(stderr, "rate and count must be positive\n");
    return 2;
  }
  const char* port_env = std::getenv("RMQ_PORT");
  const std::string port = port_env && *port_env ? port_env : "5672";
  const std::string url = "amqp://guest:guest@127.0.0.1:" + port + "/" + (url_options.empty() ? "" : "?" + url_options);

  herald::TransportOptions options;
  options.control_exchange = "herald-bench";
  auto transport = herald::Transport::open(url, options);
  const std::string topic = "bench-latency";
  const std::size_t total = warmup + count;
  std::vector<std::int64_t> latencies(total, -1);
  std::atomic<std::size_t> handled{0};
  herald::Endpoint endpoint{"latency"};
  endpoint.on(herald::Priority::info, [&](const herald::Notification& n) {
    const std::int64_t received = now_ns();
    const auto& p = n.payload();
    if (p.IsObject() && p.HasMember("seq") && p.HasMember("sent_ns")) {
      const std::int64_t seq = p["seq"].GetInt64();
      if (seq >= 0 && static_cast<std::size_t>(seq) < total) {
        latencies[static_cast<std::size_t>(seq)] = received - p["sent_ns"].GetInt64();
        handled.fetch_add(1, std::memory_order_relaxed);
      }
    }
    return herald::Result::handled;
  });
  herald::Notifier notifier(transport, {.publisher_id = "compute.host1", .topics = {topic}});
  // Declares the exchange, queue and binding before the server subscribes.
  notifier.info("{}", "bench.declare", "{}");
  notifier.flush(std::chrono::seconds(10));
  herald::NotificationServer server(transport, {herald::Target{topic, ""}}, {endpoint},
                                    {.workers = 2, .credit_window = 1000});
  server.start();

  rapidjson::Document context;
  context.Parse(R"({"user": "alice", "request_id": "req-1"})");
  rapidjson::Document payload;
  payload.Parse(R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active", )"
                R"("host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, )"
                R"("memory_mb": 2048}, "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 0, "sent_ns": 0})");
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const auto start = Clock::now();
  Clock::time_point measured_start = start;
  for (std::size_t i = 0; i < total; ++i) {
    if (i == warmup) measured_start = Clock::now();
    const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    payload["seq"].SetInt64(static_cast<std::int64_t>(i));
    payload["sent_ns"].SetInt64(now_ns());
    notifier.info(context, "compute.instance.create.end", payload);
  }
  const double send_seconds = std::chrono::duration<double>(Clock::now() - measured_start).count();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (handled.load() < total && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  notifier.flush(std::chrono::seconds(10));
  server.stop();
  server.wait();
  if (handled.load() < total) {
    std::printf("latency: only %zu of %zu handled\n", handled.load(), total);
    return 1;
  }
  std::vector<std::int64_t> measured(latencies.begin() + static_cast<std::ptrdiff_t>(warmup), latencies.end());
  // p50 of the first and of the last tenth, in send order: a growing backlog shows as last >> first.
  auto tenth_p50 = [&](std::size_t from) {
    std::vector<std::int64_t> part(measured.begin() + static_cast<std::ptrdiff_t>(from),
                                   measured.begin() + static_cast<std::ptrdiff_t>(from + measured.size() / 10));
    if (part.empty()) return 0.0;
    std::nth_element(part.begin(), part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2), part.end());
    return static_cast<double>(part[part.size() / 2]) / 1000.0;
  };
  const double first_p50 = tenth_p50(0), last_p50 = tenth_p50(measured.size() - measured.size() / 10);
  std::sort(measured.begin(), measured.end());
  auto at = [&](double q) {
    return static_cast<double>(measured[std::min(measured.size() - 1, static_cast<std::size_t>(q * measured.size()))]) /
           1000.0;
  };
  std::printf(
      "latency rate %.0f/s achieved %.0f/s count %zu p50 %.1f us p99 %.1f us max %.1f us "
      "(p50 of the first tenth %.1f us, of the last tenth %.1f us)\n",
      rate, static_cast<double>(count) / send_seconds, count, at(0.50), at(0.99),
      static_cast<double>(measured.back()) / 1000.0, first_p50, last_p50);
  return 0;
}
