#pragma once
// Graceful shutdown of the CLI's commands: SIGINT/SIGTERM through a self-pipe (the handler only
// write()s the signal number; a watcher thread does the rest), the shutdown summary lines and
// the documented exit codes (docs/operations.md, "Shutdown").

#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace herald::cli {

/// Exit codes shared by send and listen.
enum ExitCode : int {
  kExitOk = 0,                      ///< everything asked for was done
  kExitFailures = 1,                ///< send: some notifications failed
  kExitUsage = 2,                   ///< bad arguments or configuration
  kExitIncomplete = 3,              ///< stopped (deadline, --timeout or signal) with work left: unsent or
                                    ///< unconfirmed (send), released or still running (listen); nothing lost
  kExitInterruptedBeforeCount = 4,  ///< listen: a signal came before --count, everything held was handled
};

/// 128 + signal number: the exit code after a second signal cut the shutdown short.
int signal_exit_code(int signal) noexcept;
/// "SIGTERM", "SIGINT", or "signal N".
std::string signal_name(int signal);

/// Catches SIGINT and SIGTERM while it lives (one instance at a time), and SIGHUP when given
/// `on_reload`; restores the previous handlers when destroyed.
/// **Thread safety:** the accessors may be called from any thread; `on_signal` and `on_reload`
/// run on the watcher thread (keep them short; they may call NotificationServer::stop()).
class StopSignals {
 public:
  /// @param on_signal called for every SIGINT/SIGTERM with its number and how many came so far.
  /// @param on_reload called for every SIGHUP (which then is not a stop signal); without it
  ///                  SIGHUP keeps its previous disposition.
  explicit StopSignals(std::function<void(int signal, int count)> on_signal = {}, std::function<void()> on_reload = {});
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const noexcept { return count_.load() > 0; }
  /// How many signals came (a second one means "stop now").
  int count() const noexcept { return count_.load(); }
  /// The first signal's number, or 0.
  int first_signal() const noexcept { return first_.load(); }

 private:
  void watch();
  int handled_signals() const noexcept { return on_reload_ ? 3 : 2; }
  int pipe_[2] = {-1, -1};
  std::function<void(int, int)> on_signal_;
  std::function<void()> on_reload_;
  std::atomic<int> count_{0};
  std::atomic<int> first_{0};
  std::thread watcher_;
  struct sigaction previous_[3] = {};  // SIGINT, SIGTERM, SIGHUP
};

/// `--shutdown-timeout` split in two: handlers may drain until `drain`; the rest of `total`
/// is left for releasing, detaching the links and closing the connection (on RabbitMQ 3.10 the
/// detach reply is what makes the broker apply the last acks).
struct ShutdownBudget {
  std::chrono::milliseconds total;
  std::chrono::milliseconds drain;
};
ShutdownBudget shutdown_budget(double seconds);

/// What drain_until_deadline() saw.
struct DrainResult {
  bool done = false;                                 ///< everything finished before the deadline
  std::chrono::steady_clock::time_point give_up_at;  ///< when the budget ends
};

/// The drain after a stop signal: `server.stop(budget.drain)`, then `server.wait_for()` in short
/// steps until it is done or `budget.total` passed; a second signal meanwhile calls
/// `server.stop(0ms)` (release the rest now). For a NotificationServer or anything with the same
/// stop(milliseconds) / wait_for(milliseconds) pair (herald route's service).
template <typename Server>
DrainResult drain_until_deadline(Server& server, const StopSignals& signals, const ShutdownBudget& budget) {
  DrainResult result{false, std::chrono::steady_clock::now() + budget.total};
  server.stop(budget.drain);
  while (!(result.done = server.wait_for(std::chrono::milliseconds(50)))) {
    if (signals.count() > 1) server.stop(std::chrono::milliseconds(0));
    if (std::chrono::steady_clock::now() >= result.give_up_at) break;
  }
  return result;
}

/// The exit code of a server command stopped by a signal: 128 + N after a second signal;
/// kExitOk when it finished with nothing released; kExitIncomplete otherwise.
int signal_stop_exit_code(const StopSignals& signals, bool done, std::uint64_t released) noexcept;

/// Arms a watchdog: if the process still runs at `deadline` (closing the transport is taking
/// too long), it flushes stdio and exits with `code` without running destructors. Whatever was
/// not settled or confirmed by then is requeued by the broker (listen) or was reported
/// unconfirmed (send). Returning from main() earlier simply ends it.
void exit_at(std::chrono::steady_clock::time_point deadline, int code);

/// One stderr line: "herald send: <why>: N requested, S sent, C confirmed, F failed,
/// U unconfirmed, X unsent".
void print_send_summary(const char* why, std::uint64_t requested, const NotifierStats& stats);
/// listen's counters at exit, one stderr line: "herald listen: <why>: H handled, R released,
/// D dead-lettered, P duplicates, I still in progress (received N, filtered N, requeued N)".
void print_listen_summary(const char* why, const ServerStats& stats);
/// The same line for another command: "<command>: <why>: H handled, ...".
void print_server_summary(const char* command, const char* why, const ServerStats& stats);

}  // namespace herald::cli
