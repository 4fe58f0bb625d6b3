#include "tests/integration/fault_process.hpp"

#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

extern char** environ;

namespace herald::test {

using namespace std::chrono_literals;

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

}  // namespace herald::test
