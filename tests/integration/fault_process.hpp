#pragma once
// The `herald` CLI as a child process of the fault tests: its stdout read line by line (and as
// slowly as a test wants), signals, exit status, memory.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace herald::test {

// ---------------------------------------------------------------------------------------------
// The herald CLI as a child process

/// HERALD_CLI_PATH; empty when the CLI is not built.
std::string cli_path();

/// A child process with its stdout read line by line on a thread (stderr is inherited).
/// The reader may be slowed down (`set_line_delay`) to make a slow consumer: `herald listen`
/// blocks in its handler once the pipe is full, so it settles no faster than this reads.
class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();  ///< SIGKILLs a child still running, then reaps it
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const noexcept { return pid_; }
  void set_line_delay(std::chrono::microseconds delay) { line_delay_us_ = delay.count(); }
  /// Lines read so far.
  std::size_t line_count() const;
  std::vector<std::string> lines() const;
  /// Waits until at least `count` lines were read; false on timeout or EOF before.
  bool wait_lines(std::size_t count, std::chrono::milliseconds timeout) const;
  /// Time the first line was read (nullopt before).
  std::optional<std::chrono::steady_clock::time_point> first_line_time() const;
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }
  void signal(int signo);
  /// Waits for exit; returns the exit status (128 + signal when killed), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Resident set size in kB from /proc (0 when gone).
  std::size_t rss_kb() const;

 private:
  void read_loop(int fd);
  int pid_ = -1;
  std::optional<int> exit_status_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<long long> line_delay_us_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::optional<std::chrono::steady_clock::time_point> first_line_;
  bool eof_ = false;
  std::thread reader_;
};

/// Distinct message ids (and the `seq` of the payload, when present) in `herald listen` lines.
struct ListenTally {
  std::size_t lines = 0;
  std::set<std::string> message_ids;
  std::set<long long> seqs;
  std::size_t unparsable = 0;
  void add(const std::string& line);
};

/// `herald listen` on the private broker: `url`, exchange, topic, priority info, a long
/// timeout; more arguments may follow.
std::vector<std::string> herald_listen_argv(const std::string& url, const std::string& exchange,
                                            const std::string& topic, std::vector<std::string> extra = {});

}  // namespace herald::test
