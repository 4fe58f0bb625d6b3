#pragma once
// Broker control for the fault tests: rabbitmqctl and the management HTTP API of the private
// broker (scripts/rabbitmq, RMQ_PORT), cleanup of what a test declared, a watchdog, and TCP
// ports that stand in for a blackholed management API.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::test {

// ---------------------------------------------------------------------------------------------
// Broker control

/// Output and exit status of a command.
struct CommandResult {
  int status = -1;
  std::string output;
};
/// Runs a shell command, capturing stdout and stderr.
CommandResult run_command(const std::string& command);
/// `scripts/rabbitmq ctl <args>`: rabbitmqctl against the private broker of RMQ_PORT.
CommandResult broker_ctl(const std::string& args);
/// The same against the broker (or cluster node) whose AMQP port is `port`.
CommandResult broker_ctl_on(int port, const std::string& args);
/// Waits until the broker accepts AMQP connections (TCP connect to RMQ_PORT) and answers
/// `rabbitmqctl await_startup`; false after `timeout`.
bool wait_broker_up(std::chrono::seconds timeout);
/// True when something listens on 127.0.0.1:`port`.
bool port_open(int port);
/// Ready + unacknowledged messages per queue, from `rabbitmqctl list_queues` (exact, not the
/// management API's 5 s statistics). Missing queues are absent from the map.
struct QueueCounts {
  std::size_t ready = 0;
  std::size_t unacked = 0;
  std::size_t consumers = 0;
};
std::map<std::string, QueueCounts> list_queues();
/// The same, asked of the broker (or cluster node) whose AMQP port is `port`.
std::map<std::string, QueueCounts> list_queues_on(int port);

/// One management HTTP API call as guest to 127.0.0.1:RMQ_PORT+10000.
struct HttpResult {
  int status = 0;  ///< 0 when no answer
  std::string body;
};
HttpResult management_http(const std::string& method, const std::string& path, const std::string& json = "");
/// The same to the management API of the broker (or cluster node) whose AMQP port is `port`.
HttpResult management_http_on(int port, const std::string& method, const std::string& path,
                              const std::string& json = "");
/// Declares (PUT) a topic exchange / a queue with JSON `arguments`, binds (POST), deletes.
/// Return the HTTP status (2xx = done).
int declare_exchange(const std::string& name, bool durable);
int declare_queue(const std::string& name, bool durable, const std::string& arguments_json = "{}");
int bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key);
int delete_queue(const std::string& name);
int delete_exchange(const std::string& name);
bool queue_exists(const std::string& name);

/// Deletes, at scope exit, the queues and exchanges a test used, printing what was left in each
/// queue (a test drains them first).
class BrokerObjects {
 public:
  BrokerObjects() = default;
  ~BrokerObjects();
  BrokerObjects(const BrokerObjects&) = delete;
  BrokerObjects& operator=(const BrokerObjects&) = delete;
  const std::string& queue(const std::string& name);
  const std::string& exchange(const std::string& name);
  /// Messages (ready + unacked) left in the registered queues; prints them.
  std::size_t left_in_queues() const;

 private:
  std::vector<std::string> queues_;
  std::vector<std::string> exchanges_;
};

/// Aborts the test process with a message when a scenario hangs past `limit` (ctest would wait
/// 25 minutes); `restore` runs first (e.g. restart a stopped broker app).
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit, std::function<void()> restore = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cancelled_cv_;
  bool cancelled_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Silent management ports

/// A TCP server on 127.0.0.1 that accepts connections (the kernel completes the handshake) and
/// never reads or answers: a management API that hangs.
class SilentTcpServer {
 public:
  SilentTcpServer();
  ~SilentTcpServer();
  SilentTcpServer(const SilentTcpServer&) = delete;
  SilentTcpServer& operator=(const SilentTcpServer&) = delete;
  int port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// A TCP port on 127.0.0.1 whose connects hang: a listening socket with a full backlog, so the
/// kernel drops new SYNs (as a blackholing firewall would). `works()` says whether a probe
/// connect indeed stayed pending.
class BlackholeTcpPort {
 public:
  BlackholeTcpPort();
  ~BlackholeTcpPort();
  BlackholeTcpPort(const BlackholeTcpPort&) = delete;
  BlackholeTcpPort& operator=(const BlackholeTcpPort&) = delete;
  int port() const noexcept { return port_; }
  bool works() const noexcept { return works_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool works_ = false;
  std::vector<int> fillers_;
};

}  // namespace herald::test
