// Endpoints with oslo-style filters: each sees only what its rules match.
#include <herald/herald.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  auto transport = herald::Transport::open("memory://");
  std::atomic<int> compute{0}, errors{0};

  herald::Endpoint compute_audit{"compute-audit"};
  compute_audit.filter(herald::Filter{}.publisher_id(R"(compute\.)").event_type(R"(compute\.instance\.)"))
      .on(herald::Priority::audit, [&](const herald::Notification&) {
        compute.fetch_add(1);
        return herald::Result::handled;
      });
  herald::Endpoint severe_errors{"severe-errors"};
  severe_errors.filter(herald::Filter{}.payload("severity", "high$"))
      .on(herald::Priority::error, [&](const herald::Notification&) {
        errors.fetch_add(1);
        return herald::Result::handled;
      });

  herald::NotificationServer server(transport, {herald::Target{}}, {compute_audit, severe_errors}, {.workers = 2});
  server.start();
  herald::Notifier notifier(transport, {.publisher_id = "compute.host1"});
  auto network = notifier.prepare({.publisher_id = "network.agent"});
  notifier.audit("{}", "compute.instance.create.end", "{}");                  // matches compute-audit
  network.audit("{}", "compute.instance.create.end", "{}");                   // publisher filtered out
  notifier.error("{}", "compute.instance.fault", R"({"severity": "high"})");  // matches severe-errors
  notifier.error("{}", "compute.instance.fault", R"({"severity": "low"})");   // filtered out

  for (int i = 0; i < 1000 && server.stats().handled + server.stats().filtered < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.stop();
  server.wait();
  std::printf("compute-audit %d, severe-errors %d, filtered %llu\n", compute.load(), errors.load(),
              static_cast<unsigned long long>(server.stats().filtered));
  return compute.load() == 1 && errors.load() == 1 && server.stats().filtered == 2 ? 0 : 1;
}
