#include "tests/integration/amqp_support.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <cstdlib>

namespace herald::test {

int broker_port() {
  const char* port = std::getenv("RMQ_PORT");
  return port && *port ? std::atoi(port) : 5672;
}

std::string broker_url(const std::string& query) {
  return with_test_options("amqp://guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/" + query);
}

std::string unique_name(const std::string& what) {
  static std::atomic<int> counter{0};
  return "herald-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" + what;
}

bool broker_script(const std::string& command) {
  std::string line = "RMQ_PORT=" + std::to_string(broker_port()) + " " HERALD_SOURCE_DIR "/scripts/rabbitmq " +
                     command + " >/dev/null";
  return std::system(line.c_str()) == 0;
}

CapturedLog::CapturedLog() : stream_(std::make_shared<std::ostringstream>()), mutex_(std::make_shared<std::mutex>()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*stream_);
  logger = std::make_shared<spdlog::logger>("herald-test", sink);
  logger->set_level(spdlog::level::debug);
}

std::string CapturedLog::text() const {
  logger->flush();
  return stream_->str();
}

std::size_t CapturedLog::count(const std::string& needle) const {
  std::string all = text();
  std::size_t n = 0;
  for (std::size_t pos = all.find(needle); pos != std::string::npos; pos = all.find(needle, pos + 1)) ++n;
  return n;
}

detail::SendCallback SendTracker::callback() {
  return [this](std::error_code ec, std::string_view reason) {
    // Notify under the lock: the waiter may destroy the tracker as soon as wait() returns.
    std::lock_guard lock(mutex_);
    if (ec) {
      ++failed_;
      last_error_ = ec;
      last_reason_ = std::string(reason);
    } else {
      ++ok_;
    }
    done_.notify_all();
  };
}

bool SendTracker::wait(std::size_t expected, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, timeout, [&] { return ok_ + failed_ >= expected; });
}

std::string SendTracker::last_reason() const {
  std::lock_guard lock(mutex_);
  return last_reason_;
}

std::error_code SendTracker::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

detail::OutgoingMessage message(const std::string& exchange, const std::string& routing_key, const std::string& body,
                                const std::string& id) {
  detail::OutgoingMessage out;
  out.exchange = exchange;
  out.routing_key = routing_key;
  out.body = body;
  out.message_id = id.empty() ? unique_name("msg") : id;
  return out;
}

std::vector<std::string> receive_and_ack(detail::Listener& listener, std::size_t count,
                                         std::chrono::milliseconds timeout) {
  std::vector<std::string> bodies;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (bodies.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (auto& incoming : listener.poll(std::chrono::milliseconds(100), count - bodies.size())) {
      bodies.push_back(incoming->body());
      incoming->ack();
    }
  }
  return bodies;
}

}  // namespace herald::test
