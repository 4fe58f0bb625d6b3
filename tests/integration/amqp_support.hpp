#pragma once
// Helpers shared by the RabbitMQ integration tests.

#include "tests/support/test_url_options.hpp"
#include "transports/transport_driver.hpp"

#include <herald/transport.hpp>

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>

namespace herald::test {

/// RMQ_PORT, default 5672.
int broker_port();
/// "amqp://guest:guest@127.0.0.1:<port>/" + `query` (e.g. "?topology=none").
/// The private broker's URL; HERALD_TEST_URL_OPTIONS (e.g. amqp_durable_queues=true, for
/// RabbitMQ 4 with transient non-exclusive queues denied) is appended to its query.
std::string broker_url(const std::string& query = "");
/// A name unique to this process and call ("herald-it-<pid>-<n>-<what>").
std::string unique_name(const std::string& what);
/// Runs scripts/rabbitmq with `command` for RMQ_PORT; true on exit status 0.
bool broker_script(const std::string& command);

/// A logger writing into a string, for asserting on log lines.
struct CapturedLog {
  CapturedLog();
  std::shared_ptr<spdlog::logger> logger;
  std::string text() const;
  std::size_t count(const std::string& needle) const;

 private:
  std::shared_ptr<std::ostringstream> stream_;
  std::shared_ptr<std::mutex> mutex_;
};

/// Counts send outcomes and waits for them.
class SendTracker {
 public:
  detail::SendCallback callback();
  /// Waits until `expected` callbacks came in; false on timeout.
  bool wait(std::size_t expected, std::chrono::milliseconds timeout);
  std::size_t ok() const { return ok_; }
  std::size_t failed() const { return failed_; }
  std::error_code last_error() const;
  /// The reason given with the most recent failure.
  std::string last_reason() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::size_t ok_ = 0;
  std::size_t failed_ = 0;
  std::error_code last_error_;
  std::string last_reason_;
};

/// A message for `exchange` / `routing_key` with body `body` and message_id `id`.
detail::OutgoingMessage message(const std::string& exchange, const std::string& routing_key, const std::string& body,
                                const std::string& id = "");

/// Polls until `count` messages arrived or `timeout` passed; acks each; returns bodies.
std::vector<std::string> receive_and_ack(detail::Listener& listener, std::size_t count,
                                         std::chrono::milliseconds timeout);

}  // namespace herald::test
