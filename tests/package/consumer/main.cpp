// Builds against the installed package and round-trips one notification on memory://.
#include <herald/herald.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  auto transport = herald::Transport::open("memory://");
  std::atomic<int> handled{0};
  herald::Endpoint endpoint{"consumer"};
  endpoint.on(herald::Priority::info, [&](const herald::Notification& n) {
    if (n.event_type == "package.test") handled.fetch_add(1);
    return herald::Result::handled;
  });
  herald::NotificationServer server(transport, {herald::Target{}}, {endpoint});
  server.start();
  herald::Notifier notifier(transport, {.publisher_id = "consumer"});
  notifier.info("{}", "package.test", R"({"ok": true})");
  for (int i = 0; i < 500 && handled.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.stop();
  server.wait();
  std::printf("handled %d\n", handled.load());
  return handled.load() == 1 ? 0 : 1;
}
