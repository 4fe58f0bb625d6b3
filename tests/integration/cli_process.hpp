#pragma once
// Runs the herald CLI as a child process with its output in files, for the tests that signal it
// or scrape its HTTP endpoints while it runs.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace herald::test {

class CliProcess {
 public:
  /// Starts `HERALD_CLI_PATH args...` with stdout and stderr in files named after `name`.
  CliProcess(const std::string& name, const std::vector<std::string>& args)
      : stdout_path_("/tmp/herald-it-" + std::to_string(::getpid()) + "-" + name + ".out"),
        stderr_path_("/tmp/herald-it-" + std::to_string(::getpid()) + "-" + name + ".err") {
    std::vector<std::string> argv_strings{HERALD_CLI_PATH};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      int out = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : argv_strings) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~CliProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(stdout_path_.c_str());
    ::unlink(stderr_path_.c_str());
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  bool started() const { return pid_ > 0; }
  void signal(int number) const { ::kill(pid_, number); }

  /// The exit status (WEXITSTATUS, or 128 + signal when killed), or nullopt if still running
  /// after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int raw = 0;
      pid_t done = ::waitpid(pid_, &raw, WNOHANG);
      if (done == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }

  std::string out() const { return read(stdout_path_); }
  std::string err() const { return read(stderr_path_); }
  /// Complete lines written to stdout so far.
  std::vector<std::string> out_lines() const {
    std::vector<std::string> lines;
    std::istringstream stream(out());
    for (std::string line; std::getline(stream, line);)
      if (!line.empty()) lines.push_back(line);
    return lines;
  }

 private:
  static std::string read(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace herald::test
