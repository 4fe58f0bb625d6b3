#include "tests/integration/fault_support.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

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

StreamRig::StreamRig(std::size_t count, const std::string& query, std::chrono::milliseconds send_timeout)
    : exchange(objects.exchange(unique_name("x"))),
      key(objects.queue(unique_name("t") + ".info")),
      producer(Transport::open(broker_url(query),
                               [&] {
                                 TransportOptions options = logging_to(log);
                                 options.send_timeout = send_timeout;
                                 return options;
                               }())),
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

}  // namespace herald::test
