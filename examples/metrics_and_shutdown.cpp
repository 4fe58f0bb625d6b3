// Metrics and a deadline-bounded shutdown: one Metrics handle shared by the transport, a
// notifier and a server; serialize() is what a /metrics endpoint serves; stop(drain) + wait_for.
#include <herald/herald.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  auto metrics = herald::Metrics::create();
  auto transport = herald::Transport::open("memory://", {.metrics = metrics});

  std::atomic<int> handled{0};
  herald::Endpoint audit{"audit"};
  audit.on(herald::Priority::info, [&](const herald::Notification&) {
    handled.fetch_add(1);
    return herald::Result::handled;
  });
  herald::NotificationServer server(transport, {herald::Target{.topic = "notifications"}}, {audit},
                                    {.workers = 2, .metrics = metrics});
  server.start();

  herald::Notifier notifier(transport, {.publisher_id = "compute.host1", .metrics = metrics});
  for (int i = 0; i < 100; ++i) notifier.info("{}", "compute.instance.create.end", R"({"instance_id": "42"})");
  if (!notifier.flush(5s).ok()) return 1;
  for (int waited = 0; handled.load() < 100 && waited < 1000; ++waited) std::this_thread::sleep_for(10ms);

  // Drain what the server holds for up to 2 s, then release the rest; wait at most 3 s.
  server.stop(2s);
  if (!server.wait_for(3s)) return 1;

  // A few lines of what GET /metrics would return.
  std::istringstream text(metrics->serialize());
  for (std::string line; std::getline(text, line);)
    if (line.rfind("herald_notifications_confirmed_total{priority=\"info\"}", 0) == 0 ||
        line.rfind("herald_server_handled_total", 0) == 0 || line.rfind("herald_transport_state", 0) == 0)
      std::printf("%s\n", line.c_str());
  return handled.load() == 100 ? 0 : 1;
}
