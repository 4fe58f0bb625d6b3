// Raw Proton sender/receiver (the broker's ceiling) vs Herald's amqp driver doing the same
// work with the same windows: unsettled sends with 1000 in flight to the exchange, then a
// receiver with credit 1000 accepting each message from the queue. Prints msgs/s and client
// CPU microseconds per message for each phase.
//
// The raw clients read the broker's version from its open frame, as a plain Proton program
// would: RabbitMQ 3.x takes v1 addresses (/exchange/X/RK, /amq/queue/Q), 4.x v2 addresses
// (/exchanges/X/RK, /queues/Q). Herald declares every queue, with the URL options of the second
// argument (RabbitMQ 4.0 with transient queues denied needs amqp_durable_queues=true or
// rabbit_quorum_queue=true).
//
//   RMQ_PORT=5672 herald_amqp_bench [count=100000] [url-options] [phases]
// phases: a comma-separated subset of raw-send,raw-receive,driver-send,driver-receive,notifier,server
// (default all, in that order; bench/compare runs raw-send,raw-receive,notifier,server). "server"
// alone drains the bench-api.info queue an earlier "notifier" run filled (it waits for count).
#include "transports/transport_driver.hpp"

#include <herald/herald.hpp>

#include <sys/resource.h>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/tracker.hpp>
#include <proton/value.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

constexpr int kWindow = 1000;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Phase {
  const char* name;
  std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
  double cpu = cpu_seconds();
  void report(int count) const {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    double used = cpu_seconds() - cpu;
    std::printf("%-16s %8d msgs  %8.0f msg/s  %6.2f us CPU/msg  (%.2f s wall, %.2f s CPU)\n", name, count,
                count / seconds, used * 1e6 / count, seconds, used);
  }
};

// Connects first, then attaches to the address form the broker's version calls for.
class RawClient : public proton::messaging_handler {
 public:
  RawClient(std::string url, std::string exchange, std::string queue_or_key)
      : url_(std::move(url)), exchange_(std::move(exchange)), name_(std::move(queue_or_key)) {}
  void on_container_start(proton::container& c) override {
    proton::connection_options co;
    co.user("guest").password("guest").sasl_allow_insecure_mechs(true).sasl_allowed_mechs("PLAIN");
    c.connect(url_, co);
  }
  void on_connection_open(proton::connection& c) override {
    auto properties = c.properties();
    auto product = properties.find(proton::symbol("product"));
    auto version = properties.find(proton::symbol("version"));
    v2_ = product != properties.end() && version != properties.end() &&
          proton::to_string(product->second) == "RabbitMQ" &&
          std::atoi(proton::to_string(version->second).c_str()) >= 4;
    attach(c);
  }

 protected:
  virtual void attach(proton::connection& c) = 0;
  std::string exchange_address() const { return (v2_ ? "/exchanges/" : "/exchange/") + exchange_ + "/" + name_; }
  std::string queue_address() const { return (v2_ ? "/queues/" : "/amq/queue/") + name_; }

 private:
  std::string url_, exchange_, name_;
  bool v2_ = false;
};

class RawSender : public RawClient {
 public:
  RawSender(std::string url, std::string exchange, std::string key, int count, std::string body)
      : RawClient(std::move(url), std::move(exchange), std::move(key)), count_(count), body_(std::move(body)) {}
  void attach(proton::connection& c) override {
    std::printf("raw sender address %s\n", exchange_address().c_str());
    c.open_sender(exchange_address());
  }
  void on_sendable(proton::sender& s) override {
    while (s.credit() > 0 && sent_ < count_ && sent_ - confirmed_ < kWindow) {
      proton::message m;
      m.body(proton::binary(body_));
      m.inferred(true);
      m.content_type("application/json");
      m.content_encoding("utf-8");
      m.durable(true);
      s.send(m);
      ++sent_;
    }
  }
  void on_tracker_accept(proton::tracker& t) override {
    if (++confirmed_ == count_) {
      t.connection().close();
    } else {
      proton::sender s = t.sender();
      on_sendable(s);
    }
  }
  void on_tracker_reject(proton::tracker& t) override {
    std::printf("raw send rejected\n");
    t.connection().close();
  }

 private:
  int count_, sent_ = 0, confirmed_ = 0;
  std::string body_;
};

class RawReceiver : public RawClient {
 public:
  RawReceiver(std::string url, std::string queue, int count)
      : RawClient(std::move(url), "", std::move(queue)), count_(count) {}
  void attach(proton::connection& c) override {
    std::printf("raw receiver address %s\n", queue_address().c_str());
    c.open_receiver(queue_address(), proton::receiver_options().auto_accept(false).credit_window(kWindow));
  }
  void on_message(proton::delivery& d, proton::message&) override {
    d.accept();
    if (++received_ == count_) d.receiver().close();  // detach first: flushes the acks
  }
  void on_receiver_detach(proton::receiver& r) override { r.connection().close(); }
  void on_receiver_close(proton::receiver& r) override { r.connection().close(); }

 private:
  int count_, received_ = 0;
};

void herald_send(herald::detail::TransportDriver& driver, const std::string& exchange, const std::string& key,
                 int count, const std::string& body) {
  std::mutex mutex;
  std::condition_variable done;
  int completed = 0, failed = 0;
  for (int i = 0; i < count; ++i) {
    driver.send({exchange, key, body, "id-" + std::to_string(i)}, [&](std::error_code ec, std::string_view) {
      std::lock_guard lock(mutex);
      if (ec) ++failed;
      if (++completed == count) done.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return completed == count; });
  if (failed) std::printf("herald send: %d failed\n", failed);
}

void herald_receive(herald::detail::TransportDriver& driver, const herald::detail::QueueBinding& binding, int count) {
  auto listener = driver.listen({{binding}, kWindow});
  int received = 0;
  while (received < count)
    for (auto& m : listener->poll(std::chrono::milliseconds(1000), 1000)) {
      m->ack();
      ++received;
    }
  listener->stop();
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 100'000;
  // Herald's URL options, e.g. "amqp_durable_queues=true" (RabbitMQ 4.0 with transient queues denied)
  std::string url_options = argc > 2 ? argv[2] : "";
  const char* port_env = std::getenv("RMQ_PORT");
  std::string port = port_env && *port_env ? port_env : "5672";
  std::string url = "amqp://127.0.0.1:" + port;
  std::string herald_url =
      "amqp://guest:guest@127.0.0.1:" + port + "/" + (url_options.empty() ? "" : "?" + url_options);
  // The raw clients send exactly what the Herald notifier sends: a v2 notification with a
  // ~300-byte payload and a small context.
  const std::string payload = R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active", )"
                              R"("host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, )"
                              R"("memory_mb": 2048}, "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 1})";
  herald::Notification sample;
  sample.message_id = "7d9e653e-fe71-49f1-b9db-7ffca9766848";
  sample.publisher_id = "compute.host1";
  sample.event_type = "compute.instance.create.end";
  sample.timestamp = "2026-11-22 02:04:13.339067";
  sample.unique_id = "5968a41268214486b38f877984071474";
  sample.set_payload_json(payload);
  sample.set_context_json(R"({"user": "alice", "request_id": "req-1"})");
  std::string body = herald::encode(sample, herald::EnvelopeVersion::v2);
  const std::string exchange = "herald-bench";
  const std::string raw_key = "bench.raw", herald_key = "bench.herald";
  const std::string phases = argc > 3 ? "," + std::string(argv[3]) + "," : "";
  auto run_phase = [&](const char* name) {
    return phases.empty() || phases.find("," + std::string(name) + ",") != std::string::npos;
  };

  auto transport = herald::Transport::open(herald_url);
  auto& driver = transport->driver();
  // Declare both queues (and the exchange) through Herald's management client, and empty them.
  for (const auto& key : {raw_key, herald_key}) {
    auto listener = driver.listen({{{key, exchange, key}}, kWindow});
    while (!listener->poll(std::chrono::milliseconds(300), 1000).empty()) {
    }
  }
  std::printf("broker 127.0.0.1:%s, %d messages of %zu bytes, window/credit %d, Herald URL options \"%s\"\n",
              port.c_str(), count, body.size(), kWindow, url_options.c_str());
  if (run_phase("raw-send")) {
    Phase phase{"raw send"};
    RawSender sender(url, exchange, raw_key, count, body);
    proton::container(sender).run();
    phase.report(count);
  }
  if (run_phase("raw-receive")) {
    Phase phase{"raw receive"};
    RawReceiver receiver(url, raw_key, count);
    proton::container(receiver).run();
    phase.report(count);
  }
  if (run_phase("driver-send")) {
    Phase phase{"herald send"};
    herald_send(driver, exchange, herald_key, count, body);
    phase.report(count);
  }
  if (run_phase("driver-receive")) {
    Phase phase{"herald receive"};
    herald_receive(driver, {herald_key, exchange, herald_key}, count);
    phase.report(count);
  }
  // The public API end to end: a Notifier (ids, timestamp, v2 encoding, confirms) and a
  // NotificationServer (decode, dispatch, accept) on their own transport, same windows.
  herald::TransportOptions api_options;
  api_options.control_exchange = exchange;
  auto api_transport = herald::Transport::open(herald_url, api_options);
  // Only before the notifier phase: run alone, the server phase drains what an earlier
  // "notifier" run left in the queue, and this warm-up would consume part of it.
  if (run_phase("notifier")) {
    herald::Notifier warmup(api_transport, {.publisher_id = "bench", .topics = {"bench-api"}});
    warmup.info("{}", "bench.warmup", "{}");  // declares the exchange, queue and binding
    warmup.flush(std::chrono::seconds(10));
    std::atomic<int> drained{0};
    herald::Endpoint drain{"drain"};
    drain.on(herald::Priority::info, [&](const herald::Notification&) { return drained++, herald::Result::handled; });
    herald::NotificationServer server(api_transport, {herald::Target{"bench-api", ""}}, {drain});
    server.start();
    while (drained.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (run_phase("notifier")) {
    Phase phase{"herald notifier"};
    herald::Notifier notifier(api_transport, {.publisher_id = "compute.host1", .topics = {"bench-api"}});
    for (int i = 0; i < count; ++i)
      notifier.info(R"({"user": "alice", "request_id": "req-1"})", "compute.instance.create.end", payload);
    herald::FlushResult flushed = notifier.flush(std::chrono::seconds(120));
    if (!flushed.ok())
      std::printf("herald notifier: %llu failed, %llu unconfirmed\n", static_cast<unsigned long long>(flushed.failed),
                  static_cast<unsigned long long>(flushed.pending));
    phase.report(count);
  }
  if (run_phase("server")) {
    Phase phase{"herald server"};
    std::atomic<int> handled{0};
    herald::Endpoint endpoint{"count"};
    endpoint.on(herald::Priority::info,
                [&](const herald::Notification&) { return handled++, herald::Result::handled; });
    herald::NotificationServer server(api_transport, {herald::Target{"bench-api", ""}}, {endpoint},
                                      {.workers = 2, .credit_window = static_cast<std::size_t>(kWindow)});
    server.start();
    while (handled.load() < count) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    phase.report(count);  // before stop(): its detach timeout is not receive work
    server.stop();
    server.wait();
  }
  return 0;
}
