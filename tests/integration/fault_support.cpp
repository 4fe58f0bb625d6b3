#include "tests/integration/fault_support.hpp"

#include <rapidjson/document.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

extern char** environ;

namespace herald::test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Figures

std::string FaultFigures::line() const {
  std::ostringstream out;
  out << "attempted=" << attempted << " confirmed=" << confirmed << " failed=" << failed
      << " consumed_unique=" << consumed_unique << " duplicates=" << duplicates << " lost=" << lost
      << " falsely_failed=" << falsely_failed;
  return out.str();
}

Ledger::Ledger(std::size_t count) : count_(count), outcome_(count, Outcome::none), consumed_(count, 0) {}

std::optional<std::size_t> Ledger::seq_of(const std::string& body) {
  if (body.rfind("seq:", 0) != 0) return std::nullopt;
  try {
    return static_cast<std::size_t>(std::stoull(body.substr(4)));
  } catch (...) {
    return std::nullopt;
  }
}

detail::SendCallback Ledger::on_outcome(std::size_t seq) {
  {
    std::lock_guard lock(mutex_);
    ++attempted_;
  }
  return [this, seq](std::error_code ec, std::string_view reason) {
    std::lock_guard lock(mutex_);
    if (seq >= count_ || outcome_[seq] != Outcome::none) {
      // A second outcome for one send breaks the driver's contract; the figures show it as a
      // mismatch of outcomes and attempts.
      ++reasons_["(second outcome for one send)"];
      changed_.notify_all();
      return;
    }
    ++outcomes_;
    if (ec) {
      outcome_[seq] = Outcome::failed;
      ++failed_;
      if (!first_error_) {
        first_error_ = ec;
        first_reason_ = std::string(reason);
      }
      ++reasons_[ec.message() + ": " + std::string(reason)];
    } else {
      outcome_[seq] = Outcome::confirmed;
      ++confirmed_;
    }
    changed_.notify_all();
  };
}

void Ledger::consumed(std::size_t seq) {
  std::lock_guard lock(mutex_);
  if (seq >= count_) {
    ++foreign_;
    return;
  }
  if (consumed_[seq]++ == 0)
    ++consumed_unique_;
  else
    ++duplicates_;
  changed_.notify_all();
}

bool Ledger::wait_outcomes(std::size_t expected, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return outcomes_ >= expected; });
}

bool Ledger::wait_consumed(std::chrono::milliseconds timeout, bool all_attempted) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    bool done = true;
    if (all_attempted) {
      done = consumed_unique_ >= attempted_;
    } else {
      for (std::size_t i = 0; i < count_ && done; ++i)
        if (outcome_[i] == Outcome::confirmed && consumed_[i] == 0) done = false;
    }
    if (done) return true;
    if (changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + 100ms)) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline)
      return false;
  }
}

std::size_t Ledger::outcomes() const {
  std::lock_guard lock(mutex_);
  return outcomes_;
}
std::size_t Ledger::confirmed() const {
  std::lock_guard lock(mutex_);
  return confirmed_;
}
std::size_t Ledger::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}
std::size_t Ledger::consumed_unique() const {
  std::lock_guard lock(mutex_);
  return consumed_unique_;
}

std::size_t Ledger::lost_between(std::size_t first, std::size_t last) const {
  std::lock_guard lock(mutex_);
  std::size_t lost = 0;
  for (std::size_t i = first; i < std::min(last, count_); ++i)
    if (outcome_[i] == Outcome::confirmed && consumed_[i] == 0) ++lost;
  return lost;
}

FaultFigures Ledger::figures() const {
  std::lock_guard lock(mutex_);
  FaultFigures f;
  f.attempted = attempted_;
  f.confirmed = confirmed_;
  f.failed = failed_;
  f.consumed_unique = consumed_unique_;
  f.duplicates = duplicates_;
  for (std::size_t i = 0; i < count_; ++i) {
    if (outcome_[i] == Outcome::confirmed && consumed_[i] == 0) ++f.lost;
    if (outcome_[i] == Outcome::failed && consumed_[i] > 0) ++f.falsely_failed;
  }
  return f;
}

std::map<std::string, std::size_t> Ledger::failure_reasons() const {
  std::lock_guard lock(mutex_);
  return reasons_;
}

std::error_code Ledger::first_error() const {
  std::lock_guard lock(mutex_);
  return first_error_;
}

std::string Ledger::first_reason() const {
  std::lock_guard lock(mutex_);
  return first_reason_;
}

ConsumerThread::ConsumerThread(detail::Listener& listener, Ledger& ledger) : listener_(listener), ledger_(ledger) {
  thread_ = std::thread([this] {
    while (!stop_) {
      for (auto& message : listener_.poll(100ms, 256)) {
        if (auto seq = Ledger::seq_of(message->body())) ledger_.consumed(*seq);
        message->ack();
        std::lock_guard lock(mutex_);
        times_.push_back(std::chrono::steady_clock::now());
      }
    }
  });
}

ConsumerThread::~ConsumerThread() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::chrono::steady_clock::time_point ConsumerThread::last_delivery() const {
  std::lock_guard lock(mutex_);
  return times_.empty() ? std::chrono::steady_clock::time_point{} : times_.back();
}

std::vector<std::chrono::steady_clock::time_point> ConsumerThread::delivery_times() const {
  std::lock_guard lock(mutex_);
  return times_;
}

double ConsumerThread::longest_pause(std::chrono::steady_clock::time_point since) const {
  std::lock_guard lock(mutex_);
  double longest = 0;
  for (std::size_t i = 1; i < times_.size(); ++i)
    if (times_[i] > since)
      longest = std::max(longest, std::chrono::duration<double>(times_[i] - times_[i - 1]).count());
  return longest;
}

void ConsumerThread::drain_and_stop(std::chrono::milliseconds quiet) {
  auto since = std::chrono::steady_clock::now();
  for (;;) {
    auto last = std::max(since, last_delivery());
    if (std::chrono::steady_clock::now() - last >= quiet) break;
    std::this_thread::sleep_for(50ms);
  }
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

namespace {
TransportOptions logging_to(const CapturedLog& log) {
  TransportOptions options;
  options.logger = log.logger;
  return options;
}
}  // namespace

StreamRig::StreamRig(std::size_t count, const std::string& query)
    : exchange(objects.exchange(unique_name("x"))),
      key(objects.queue(unique_name("t") + ".info")),
      producer(Transport::open(broker_url(query), logging_to(log))),
      consumer_transport(Transport::open(broker_url(query), logging_to(listener_log))),
      listener(consumer_transport->driver().listen({{{key, exchange, key}}, 1000})),
      ledger(count),
      consumer(*listener, ledger) {}

StreamRig::~StreamRig() { stop_consumer(); }

void StreamRig::send(std::size_t seq) {
  producer->driver().send(message(exchange, key, Ledger::body_for(seq)), ledger.on_outcome(seq));
}

void StreamRig::stop_consumer() {
  if (consumer_stopped_) return;
  consumer_stopped_ = true;
  consumer.drain_and_stop();
  listener->stop();
}

void drain_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key, Ledger& ledger,
                 std::chrono::milliseconds timeout, std::chrono::milliseconds quiet) {
  auto transport = Transport::open(broker_url("?topology=none"));
  auto listener = transport->driver().listen({{{queue, exchange, routing_key}}, 1000});
  {
    ConsumerThread consumer(*listener, ledger);
    ledger.wait_consumed(timeout);
    consumer.drain_and_stop(quiet);
  }
  listener->stop();
}

void send_paced(std::size_t count, double per_second, const std::function<void(std::size_t)>& send) {
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    if (per_second > 0) {
      auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(static_cast<double>(i) / per_second));
      std::this_thread::sleep_until(due);
    }
    send(i);
  }
}

std::vector<std::string> log_sample(const CapturedLog& log, std::size_t max) {
  std::vector<std::string> sample;
  std::istringstream lines(log.text());
  std::string line;
  while (sample.size() < max && std::getline(lines, line)) {
    // "[2026-12-02 18:00:00.123] [herald-test] [warning] text" -> "[warning] text"
    auto logger_end = line.find("] [", line.find("] [") + 1);
    if (logger_end != std::string::npos) line = line.substr(logger_end + 2);
    if (std::find(sample.begin(), sample.end(), line) == sample.end()) sample.push_back(line);
  }
  return sample;
}

std::size_t log_lines(const CapturedLog& log) {
  std::string text = log.text();
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::size_t log_warnings(const CapturedLog& log) {
  std::istringstream lines(log.text());
  std::string line;
  std::size_t count = 0;
  while (std::getline(lines, line))
    if (line.find("] [warning] ") != std::string::npos || line.find("] [error] ") != std::string::npos ||
        line.find("] [critical] ") != std::string::npos)
      ++count;
  return count;
}

void print_figures(const std::string& scenario, const Ledger& ledger, const CapturedLog* log) {
  std::cout << "[ fault ] " << scenario << ": " << ledger.figures().line() << "\n";
  for (const auto& [reason, count] : ledger.failure_reasons())
    std::cout << "[ fault ]   failure x" << count << ": " << reason << "\n";
  if (log) {
    std::cout << "[ fault ]   log: " << log_lines(*log) << " lines (" << log_warnings(*log)
              << " warnings or errors); first distinct:\n";
    for (const auto& line : log_sample(*log, 8)) std::cout << "[ fault ]     " << line.substr(0, 300) << "\n";
  }
  std::cout.flush();
}

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

CommandResult broker_ctl(const std::string& args) {
  return run_command("RMQ_PORT=" + std::to_string(broker_port()) + " " HERALD_SOURCE_DIR "/scripts/rabbitmq ctl " +
                     args);
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

std::map<std::string, QueueCounts> list_queues() {
  std::map<std::string, QueueCounts> queues;
  auto result = broker_ctl("-q --no-table-headers list_queues name messages_ready messages_unacknowledged consumers");
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
  HttpResult result;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return result;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(broker_port() + 10000));
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
// Child processes

std::string cli_path() { return HERALD_CLI_PATH; }

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  started_ = std::chrono::steady_clock::now();
  int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
  }
  reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
}

ChildProcess::~ChildProcess() {
  if (!exit_status_) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  line_delay_us_ = 0;
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::read_loop(int fd) {
  std::string pending;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t eol = pending.find('\n'); eol != std::string::npos; eol = pending.find('\n', start)) {
      if (auto delay = line_delay_us_.load()) std::this_thread::sleep_for(std::chrono::microseconds(delay));
      std::lock_guard lock(mutex_);
      if (!first_line_) first_line_ = std::chrono::steady_clock::now();
      lines_.push_back(pending.substr(start, eol - start));
      changed_.notify_all();
      start = eol + 1;
    }
    pending.erase(0, start);
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

std::size_t ChildProcess::line_count() const {
  std::lock_guard lock(mutex_);
  return lines_.size();
}

std::vector<std::string> ChildProcess::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool ChildProcess::wait_lines(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return lines_.size() >= count || eof_; });
  return lines_.size() >= count;
}

std::optional<std::chrono::steady_clock::time_point> ChildProcess::first_line_time() const {
  std::lock_guard lock(mutex_);
  return first_line_;
}

void ChildProcess::signal(int signo) {
  if (!exit_status_) ::kill(pid_, signo);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_status_) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::size_t ChildProcess::rss_kb() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::size_t kb = 0;
      status >> kb;
      return kb;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}

void ListenTally::add(const std::string& line) {
  ++lines;
  rapidjson::Document doc;
  doc.Parse(line.c_str(), line.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("message_id") || !doc["message_id"].IsString()) {
    ++unparsable;
    return;
  }
  message_ids.insert(doc["message_id"].GetString());
  if (doc.HasMember("payload") && doc["payload"].IsObject() && doc["payload"].HasMember("seq") &&
      doc["payload"]["seq"].IsInt64())
    seqs.insert(doc["payload"]["seq"].GetInt64());
}

std::vector<std::string> herald_listen_argv(const std::string& url, const std::string& exchange,
                                            const std::string& topic, std::vector<std::string> extra) {
  std::vector<std::string> argv = {cli_path(), "listen", "--url",      url,    "--exchange", exchange,
                                   "--topic",  topic,    "--priority", "info", "--timeout",  "600"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
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
