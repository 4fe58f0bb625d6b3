// The smallest Herald program: a notifier and a server sharing an in-process transport.
#include <herald/herald.hpp>

#include <chrono>
#include <cstdio>
#include <future>

int main() {
  auto transport = herald::Transport::open("memory://");

  std::promise<std::string> received;
  herald::Endpoint printer{"printer"};
  printer.on(herald::Priority::info, [&](const herald::Notification& n) {
    received.set_value(n.event_type + " " + n.payload_json());
    return herald::Result::handled;
  });
  herald::NotificationServer server(transport, {herald::Target{.topic = "notifications"}}, {printer});
  server.start();

  herald::Notifier notifier(transport, {.publisher_id = "compute.host1"});
  notifier.info(R"({"request_id": "req-1"})", "compute.instance.create.end", R"({"instance_id": "42"})");

  auto result = received.get_future();
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return 1;
  std::printf("%s\n", result.get().c_str());
  server.stop();
  server.wait();
  return 0;
}
