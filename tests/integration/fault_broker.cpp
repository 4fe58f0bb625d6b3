#include "tests/integration/fault_broker.hpp"

#include "tests/integration/amqp_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <system_error>

namespace herald::test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Broker control

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult broker_ctl(const std::string& args) { return broker_ctl_on(broker_port(), args); }

CommandResult broker_ctl_on(int port, const std::string& args) {
  return run_command("RMQ_PORT=" + std::to_string(port) + " " HERALD_SOURCE_DIR "/scripts/rabbitmq ctl " + args);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return open;
}

bool wait_broker_up(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (port_open(broker_port()) && broker_ctl("-q await_startup").status == 0) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

std::map<std::string, QueueCounts> list_queues() { return list_queues_on(broker_port()); }

std::map<std::string, QueueCounts> list_queues_on(int port) {
  std::map<std::string, QueueCounts> queues;
  auto result =
      broker_ctl_on(port, "-q --no-table-headers list_queues name messages_ready messages_unacknowledged consumers");
  std::istringstream lines(result.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string name;
    QueueCounts counts;
    if (fields >> name >> counts.ready >> counts.unacked >> counts.consumers) queues[name] = counts;
  }
  return queues;
}

HttpResult management_http(const std::string& method, const std::string& path, const std::string& json) {
  return management_http_on(broker_port(), method, path, json);
}

HttpResult management_http_on(int port, const std::string& method, const std::string& path, const std::string& json) {
  HttpResult result;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return result;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port + 10000));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return result;
  }
  std::string request = method + " " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic Z3Vlc3Q6Z3Vlc3Q=\r\n"  // guest:guest
                        "Connection: close\r\ncontent-type: application/json\r\nContent-Length: " +
                        std::to_string(json.size()) + "\r\n\r\n" + json;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) response.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  if (response.rfind("HTTP/1.", 0) == 0 && response.size() > 12) result.status = std::atoi(response.c_str() + 9);
  auto body = response.find("\r\n\r\n");
  if (body != std::string::npos) result.body = response.substr(body + 4);
  return result;
}

namespace {
std::string vhost_path(const std::string& kind, const std::string& name) { return "/api/" + kind + "/%2F/" + name; }
}  // namespace

int declare_exchange(const std::string& name, bool durable) {
  return management_http(
             "PUT", vhost_path("exchanges", name),
             std::string(R"({"type":"topic","auto_delete":false,"durable":)") + (durable ? "true" : "false") + "}")
      .status;
}

int declare_queue(const std::string& name, bool durable, const std::string& arguments_json) {
  return management_http("PUT", vhost_path("queues", name),
                         std::string(R"({"auto_delete":false,"durable":)") + (durable ? "true" : "false") +
                             R"(,"arguments":)" + arguments_json + "}")
      .status;
}

int bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) {
  return management_http("POST", "/api/bindings/%2F/e/" + exchange + "/q/" + queue,
                         R"({"routing_key":")" + routing_key + R"("})")
      .status;
}

int delete_queue(const std::string& name) { return management_http("DELETE", vhost_path("queues", name)).status; }

int delete_exchange(const std::string& name) { return management_http("DELETE", vhost_path("exchanges", name)).status; }

bool queue_exists(const std::string& name) { return management_http("GET", vhost_path("queues", name)).status == 200; }

BrokerObjects::~BrokerObjects() {
  if (!port_open(broker_port())) return;
  for (const auto& q : queues_) {
    int status = delete_queue(q);
    // A queue still being released by a stopping consumer may not answer the HTTP call in time.
    if (status == 204 || status == 404) continue;
    // No answer in 10 s: seen after a listener flooded with deliveries; the deletion may still
    // complete on the broker. Wait for it, then try rabbitmqctl.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (queue_exists(q) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(500ms);
    bool gone = !queue_exists(q) || broker_ctl("-q delete_queue '" + q + "'").status == 0;
    std::cout << "[ fault ] deleting queue " << q << ": HTTP " << status
              << (gone ? "; gone later\n" : "; still there\n");
  }
  for (const auto& x : exchanges_) delete_exchange(x);
}

const std::string& BrokerObjects::queue(const std::string& name) { return queues_.emplace_back(name); }

const std::string& BrokerObjects::exchange(const std::string& name) { return exchanges_.emplace_back(name); }

std::size_t BrokerObjects::left_in_queues() const {
  auto all = list_queues();
  std::size_t left = 0;
  for (const auto& q : queues_) {
    auto it = all.find(q);
    if (it == all.end()) continue;
    std::size_t here = it->second.ready + it->second.unacked;
    if (here) std::cout << "[ fault ] left in queue " << q << ": " << here << "\n";
    left += here;
  }
  return left;
}

Watchdog::Watchdog(std::chrono::seconds limit, std::function<void()> restore) {
  thread_ = std::thread([this, limit, restore = std::move(restore)] {
    std::unique_lock lock(mutex_);
    if (cancelled_cv_.wait_for(lock, limit, [&] { return cancelled_; })) return;
    std::fprintf(stderr, "[ fault ] WATCHDOG: the scenario is still running after %lld s; aborting the test\n",
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    if (restore) restore();
    std::fflush(stdout);
    std::_Exit(70);
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
  }
  cancelled_cv_.notify_all();
  thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Silent management ports

namespace {

int listening_socket(int backlog, int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::system_error(errno, std::generic_category(), "bind/listen");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

SilentTcpServer::SilentTcpServer() { fd_ = listening_socket(64, port_); }

SilentTcpServer::~SilentTcpServer() { ::close(fd_); }

BlackholeTcpPort::BlackholeTcpPort() {
  fd_ = listening_socket(0, port_);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Connect (never accepted) until the accept queue is full and a connect stays pending.
  for (int attempt = 0; attempt < 16 && !works_; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    fillers_.push_back(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) continue;
    if (errno != EINPROGRESS) break;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 300) == 0) works_ = true;  // still pending: SYNs are being dropped
  }
}

BlackholeTcpPort::~BlackholeTcpPort() {
  for (int fd : fillers_) ::close(fd);
  ::close(fd_);
}

}  // namespace herald::test
