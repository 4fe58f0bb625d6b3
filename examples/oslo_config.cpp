// A service's oslo.config file configures Herald: transport, topics, driver and exchange come
// from it; OS_<GROUP>__<OPTION> environment variables override it.
#include <herald/herald.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>

int main() {
  const char* path = "/tmp/herald-example-oslo.conf";
  std::ofstream(path) << "[DEFAULT]\n"
                         "transport_url = memory://\n"
                         "control_exchange = nova\n"
                         "[database]\n"
                         "connection = mysql+pymysql://nova:secret@db/nova\n"  // not Herald's: skipped
                         "[oslo_messaging_notifications]\n"
                         "driver = messagingv2\n"
                         "topics = versioned_notifications\n"
                         "[oslo_messaging_rabbit]\n"
                         "rabbit_quorum_queue = true\n";  // not implemented: listed in config.ignored

  herald::Config config = herald::Config::load({.files = {path}, .environment = herald::Config::process_environment()});
  std::remove(path);
  if (!config.ignored.empty()) std::printf("%s\n", config.ignored_summary().c_str());

  auto transport = herald::Transport::open(config.transport_url, config.transport_options());
  std::promise<std::string> received;
  herald::Endpoint printer{"printer"};
  printer.on(herald::Priority::info, [&](const herald::Notification& n) {
    received.set_value(n.event_type);
    return herald::Result::handled;
  });
  std::vector<herald::Target> targets;
  for (const std::string& topic : config.topics) targets.push_back({.topic = topic});
  herald::NotificationServer server(transport, targets, {printer}, config.server_options());
  server.start();

  herald::NotifierOptions options = config.notifier_options();
  options.publisher_id = "compute.host1";
  herald::Notifier notifier(transport, options);
  notifier.info("{}", "compute.instance.create.end", R"({"instance_id": "42"})");

  auto result = received.get_future();
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return 1;
  std::printf("received %s on %s via exchange %s\n", result.get().c_str(), config.topics.front().c_str(),
              config.control_exchange.c_str());
  server.stop();
  server.wait();
  return 0;
}
