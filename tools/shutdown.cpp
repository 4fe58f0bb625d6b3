#include "shutdown.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace herald::cli {
namespace {

// The write end of the active StopSignals' pipe; the handler's only state.
volatile std::sig_atomic_t g_signal_pipe = -1;

extern "C" void forward_signal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  if (g_signal_pipe >= 0) {
    ssize_t written = ::write(g_signal_pipe, &byte, 1);  // async-signal-safe; nothing else happens here
    (void)written;
  }
  errno = saved_errno;
}

// SIGHUP is handled only when StopSignals was given on_reload.
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr unsigned char kWakeWatcher = 0;  // not a signal number: tells the watcher to exit

}  // namespace

int signal_exit_code(int signal) noexcept { return 128 + signal; }

std::string signal_name(int signal) {
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == SIGINT) return "SIGINT";
  return "signal " + std::to_string(signal);
}

StopSignals::StopSignals(std::function<void(int, int)> on_signal, std::function<void()> on_reload)
    : on_signal_(std::move(on_signal)), on_reload_(std::move(on_reload)) {
  if (::pipe2(pipe_, O_CLOEXEC) != 0) throw std::runtime_error("cannot create the signal pipe");
  g_signal_pipe = pipe_[1];
  for (int i = 0; i < handled_signals(); ++i) {
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(kSignals[i], &action, &previous_[i]);
  }
  watcher_ = std::thread([this] { watch(); });
}

StopSignals::~StopSignals() {
  for (int i = 0; i < handled_signals(); ++i) ::sigaction(kSignals[i], &previous_[i], nullptr);
  g_signal_pipe = -1;
  const unsigned char wake = kWakeWatcher;
  ssize_t written = ::write(pipe_[1], &wake, 1);
  (void)written;
  watcher_.join();
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

void StopSignals::watch() {
  for (;;) {
    unsigned char byte = 0;
    ssize_t got = ::read(pipe_[0], &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || byte == kWakeWatcher) return;
    if (byte == SIGHUP) {
      if (on_reload_) on_reload_();
      continue;
    }
    int expected = 0;
    first_.compare_exchange_strong(expected, byte);
    int count = count_.fetch_add(1) + 1;
    if (on_signal_) on_signal_(byte, count);
  }
}

ShutdownBudget shutdown_budget(double seconds) {
  auto total = std::chrono::milliseconds(static_cast<long long>(std::max(0.0, seconds) * 1000));
  // Two fifths, at most 2.5 s, after the drain for releasing, detaching and closing: the amqp
  // driver waits up to its detach_timeout (2 s) for the links.
  auto reserve = std::min<std::chrono::milliseconds>(total * 2 / 5, std::chrono::milliseconds(2500));
  return {total, total - reserve};
}

int signal_stop_exit_code(const StopSignals& signals, bool done, std::uint64_t released) noexcept {
  if (signals.count() > 1) return signal_exit_code(signals.first_signal());
  return done && released == 0 ? kExitOk : kExitIncomplete;
}

void exit_at(std::chrono::steady_clock::time_point deadline, int code) {
  std::thread([deadline, code] {
    std::this_thread::sleep_until(deadline);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }).detach();
}

void print_send_summary(const char* why, std::uint64_t requested, const NotifierStats& stats) {
  const std::uint64_t unsent = requested > stats.sent ? requested - stats.sent : 0;
  std::fprintf(stderr,
               "herald send: %s: %llu requested, %llu sent, %llu confirmed, %llu failed, %llu unconfirmed, "
               "%llu unsent\n",
               why, static_cast<unsigned long long>(requested), static_cast<unsigned long long>(stats.sent),
               static_cast<unsigned long long>(stats.confirmed), static_cast<unsigned long long>(stats.failed),
               static_cast<unsigned long long>(stats.pending), static_cast<unsigned long long>(unsent));
}

void print_listen_summary(const char* why, const ServerStats& stats) {
  print_server_summary("herald listen", why, stats);
}

void print_server_summary(const char* command, const char* why, const ServerStats& stats) {
  std::fprintf(stderr,
               "%s: %s: %llu handled, %llu released, %llu dead-lettered, %llu duplicates, %llu still in "
               "progress (received %llu, filtered %llu, requeued %llu)\n",
               command, why, static_cast<unsigned long long>(stats.handled),
               static_cast<unsigned long long>(stats.released), static_cast<unsigned long long>(stats.dead_lettered),
               static_cast<unsigned long long>(stats.duplicates), static_cast<unsigned long long>(stats.in_progress),
               static_cast<unsigned long long>(stats.received), static_cast<unsigned long long>(stats.filtered),
               static_cast<unsigned long long>(stats.requeued));
}

}  // namespace herald::cli
