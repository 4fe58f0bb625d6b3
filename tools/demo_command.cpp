// herald demo: the main job end to end on memory://. Notifier threads emit audit and telemetry
// notifications from several publishers; a server with filtered endpoints and a worker pool
// handles them; a live progress line on a terminal; a summary table at the end.
#include "cli_common.hpp"
#include "metrics_server.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

namespace herald::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct DemoArgs {
  ConfigFlags config;
  std::size_t count = 200'000;
  std::size_t workers = 4;
  std::size_t producers = 2;
  bool verbose = false;
  std::string metrics_address;
};

// Latency histogram: buckets of 2^(i/4) µs, lock-free.
class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency) {
    double us = std::max(1.0, std::chrono::duration<double, std::micro>(latency).count());
    auto bucket = static_cast<std::size_t>(std::log2(us) * 4);
    buckets_[std::min(bucket, buckets_.size() - 1)].fetch_add(1, std::memory_order_relaxed);
  }
  double percentile_us(double fraction) const {
    std::uint64_t total = 0;
    for (const auto& b : buckets_) total += b.load();
    if (total == 0) return 0;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i].load();
      if (static_cast<double>(seen) >= fraction * static_cast<double>(total)) return std::exp2((i + 1) / 4.0);
    }
    return std::exp2(buckets_.size() / 4.0);
  }

 private:
  std::array<std::atomic<std::uint64_t>, 128> buckets_{};
};

struct EndpointCounter {
  std::string name;
  std::atomic<std::uint64_t> handled{0};
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

int run_demo(const DemoArgs& args) {
  auto logger = make_cli_logger(args.verbose);
  // The demo always runs in memory; of a configuration it takes control_exchange and
  // send_timeout (and validates the rest).
  TransportOptions transport_options = args.config.load(logger).transport_options();
  transport_options.logger = logger;
  if (!args.metrics_address.empty()) transport_options.metrics = Metrics::create();
  auto transport = Transport::open("memory://?max_depth=20000&overflow=block", transport_options);
  std::optional<MetricsServer> http;
  if (transport_options.metrics)
    http.emplace(args.metrics_address, transport_options.metrics, [&] { return readiness_of(*transport); });

  LatencyHistogram latency;
  std::array<EndpointCounter, 4> counters;
  counters[0].name = "audit-trail";
  counters[1].name = "telemetry";
  counters[2].name = "alerts";
  counters[3].name = "billing";
  auto observe = [&](const Notification& n, EndpointCounter& counter) {
    counter.handled.fetch_add(1, std::memory_order_relaxed);
    auto sent = n.payload().FindMember("sent_ns");
    if (sent != n.payload().MemberEnd() && sent->value.IsInt64())
      latency.record(std::chrono::nanoseconds(now_ns() - sent->value.GetInt64()));
  };

  // Audit trail: audit notifications from compute and identity services only.
  Endpoint audit_trail{"audit-trail"};
  audit_trail.filter(Filter{}.publisher_id(R"((compute|identity)\.)")).on(Priority::audit, [&](const Notification& n) {
    return observe(n, counters[0]), Result::handled;
  });
  // Telemetry: samples whose event_type is telemetry.*.
  Endpoint telemetry{"telemetry"};
  telemetry.filter(Filter{}.event_type(R"(telemetry\.)")).on(Priority::sample, [&](const Notification& n) {
    return observe(n, counters[1]), Result::handled;
  });
  // Alerts: errors and criticals with a high severity in the payload.
  Endpoint alerts{"alerts"};
  alerts.filter(Filter{}.payload("severity", "(high|critical)$"))
      .on({Priority::error, Priority::critical},
          [&](const Notification& n) { return observe(n, counters[2]), Result::handled; });
  // Billing: instance events; a flaky backend fails the first attempt of every 500th instance
  // (the retry succeeds), and one instance is poison (always fails) to show the redelivery limit.
  Endpoint billing{"billing"};
  std::mutex flaky_mutex;
  std::unordered_set<std::int64_t> failed_once;
  billing.filter(Filter{}.event_type(R"(compute\.instance\.)")).on(Priority::info, [&](const Notification& n) {
    auto seq = n.payload().FindMember("seq");
    std::int64_t s = seq != n.payload().MemberEnd() && seq->value.IsInt64() ? seq->value.GetInt64() : 0;
    if (s == 4242) return Result::requeue;  // poison
    if (s % 500 == 6) {                     // flaky
      std::lock_guard lock(flaky_mutex);
      if (failed_once.insert(s).second) return Result::requeue;
    }
    observe(n, counters[3]);
    return Result::handled;
  });

  ServerOptions server_options;
  server_options.workers = args.workers;
  server_options.allow_requeue = true;
  server_options.max_redeliveries = 3;
  server_options.logger = logger;
  server_options.metrics = transport_options.metrics;
  NotificationServer server(transport, {Target{"notifications", ""}}, {audit_trail, telemetry, alerts, billing},
                            server_options);
  server.start();

  struct Publisher {
    const char* id;
    Priority priority;
    const char* event_type;
  };
  const std::array<Publisher, 6> kinds = {{{"compute.host1", Priority::info, "compute.instance.create.end"},
                                           {"compute.host2", Priority::audit, "compute.instance.delete.start"},
                                           {"identity.keystone", Priority::audit, "identity.user.authenticate"},
                                           {"network.agent", Priority::audit, "network.port.update"},
                                           {"metering.agent", Priority::sample, "telemetry.cpu.util"},
                                           {"compute.host1", Priority::error, "compute.instance.fault"}}};
  NotifierOptions notifier_options;
  notifier_options.logger = logger;
  notifier_options.metrics = transport_options.metrics;
  Notifier base(transport, notifier_options);

  const auto start = Clock::now();
  std::vector<std::thread> producers;
  std::atomic<std::uint64_t> emitted{0};
  for (std::size_t t = 0; t < args.producers; ++t) {
    producers.emplace_back([&, t] {
      std::vector<Notifier> notifiers;
      for (const auto& kind : kinds) notifiers.push_back(base.prepare({.publisher_id = kind.id}));
      rapidjson::Document context(rapidjson::kObjectType);
      context.AddMember("request_id", "req-demo", context.GetAllocator());
      context.AddMember("project_id", "p-demo", context.GetAllocator());
      for (std::size_t i = t; i < args.count; i += args.producers) {
        const Publisher& kind = kinds[i % kinds.size()];
        rapidjson::Document payload(rapidjson::kObjectType);
        auto& a = payload.GetAllocator();
        payload.AddMember("seq", static_cast<std::int64_t>(i), a);
        payload.AddMember("sent_ns", now_ns(), a);
        payload.AddMember("instance_id", "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", a);
        payload.AddMember("severity", rapidjson::StringRef(i % 4 == 1 ? "high" : "low"), a);
        notifiers[i % kinds.size()].notify(kind.priority, context, kind.event_type, payload);
        emitted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const std::uint64_t expected = args.count;
  auto settled = [&] {
    ServerStats s = server.stats();
    return s.handled + s.filtered + s.no_endpoint + s.dead_lettered + s.duplicates + s.requeue_refused;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (settled() < expected && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 100 : 5));
    if (tty) {
      double secs = std::chrono::duration<double>(Clock::now() - start).count();
      std::printf("\r  sent %8llu   handled %8llu   %8.0f/s   ", static_cast<unsigned long long>(emitted.load()),
                  static_cast<unsigned long long>(settled()), static_cast<double>(settled()) / secs);
      std::fflush(stdout);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& p : producers) p.join();
  base.flush(std::chrono::seconds(5));
  server.stop();
  server.wait();
  if (tty) std::printf("\r%70s\r", "");

  ServerStats s = server.stats();
  NotifierStats ns = base.stats();
  std::printf("Herald demo on memory:// — %zu producers, %zu workers\n", args.producers, args.workers);
  std::printf("  %-28s %12llu\n", "sent (confirmed)", static_cast<unsigned long long>(ns.confirmed));
  std::printf("  %-28s %12llu\n", "send failures", static_cast<unsigned long long>(ns.failed));
  std::printf("  %-28s %12llu\n", "received by the server", static_cast<unsigned long long>(s.received));
  for (const auto& c : counters)
    std::printf("  handled by %-17s %12llu\n", c.name.c_str(), static_cast<unsigned long long>(c.handled.load()));
  std::printf("  %-28s %12llu\n", "filtered out (acked)", static_cast<unsigned long long>(s.filtered));
  std::printf("  %-28s %12llu\n", "requeued", static_cast<unsigned long long>(s.requeued));
  std::printf("  %-28s %12llu\n", "dead-lettered", static_cast<unsigned long long>(s.dead_lettered));
  std::printf("  %-28s %12llu\n", "  of which undecodable", static_cast<unsigned long long>(s.undecodable));
  std::printf("  %-28s %12llu\n", "  of which unknown priority", static_cast<unsigned long long>(s.unknown_priority));
  std::printf("  %-28s %12.0f /s\n", "rate (settled)", static_cast<double>(settled()) / seconds);
  std::printf("  %-28s %12.0f µs\n", "latency p50", latency.percentile_us(0.50));
  std::printf("  %-28s %12.0f µs\n", "latency p99", latency.percentile_us(0.99));
  bool complete = settled() >= expected && ns.failed == 0;
  if (!complete)
    std::printf("demo incomplete: %llu of %llu settled\n", static_cast<unsigned long long>(settled()),
                static_cast<unsigned long long>(expected));
  return complete ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand("demo", "Run the notifier → server pipeline on memory:// and print a summary");
  args->config.add_to(cmd);
  cmd->add_option("--count", args->count, "Notifications to emit")->capture_default_str();
  cmd->add_option("--workers", args->workers, "Server worker threads")->capture_default_str();
  cmd->add_option("--producers", args->producers, "Notifier threads")->capture_default_str();
  cmd->add_flag("-v,--verbose", args->verbose, "Log warnings and debug lines");
  cmd->add_option("--metrics-address", args->metrics_address,
                  "Serve /metrics, /healthz and /readyz on host:port while the demo runs");
  cmd->callback([args, &exit_code] { exit_code = run_demo(*args); });
}

}  // namespace herald::cli
