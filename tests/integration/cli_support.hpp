#pragma once
// Running the herald CLI from integration tests: a command line in, exit status and output out.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace herald::test {

/// The herald executable, or "" when the CLI is not built.
inline std::string cli_path() { return HERALD_CLI_PATH; }

/// What a finished command left behind.
struct CommandResult {
  int status = -1;  ///< exit status
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// A file under /tmp removed at destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content = "") {
    char name[] = "/tmp/herald-it-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd >= 0) ::close(fd);
    path_ = name;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream in(path_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
};

/// Runs `command` through the shell and collects its output.
inline CommandResult run_command(const std::string& command) {
  TempFile out, err;
  const int status = std::system((command + " >" + out.path() + " 2>" + err.path()).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out.read(), err.read()};
}

/// Runs `command` in the background; wait() collects it.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::string& command)
      : pipe_(::popen((command + " 2>" + err_.path()).c_str(), "r")) {}
  ~BackgroundCommand() {
    if (pipe_) ::pclose(pipe_);
  }
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;
  CommandResult wait() {
    CommandResult result;
    char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe_)) > 0) result.out.append(buffer, n);
    const int status = ::pclose(pipe_);
    pipe_ = nullptr;
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.err = err_.read();
    return result;
  }

 private:
  TempFile err_;
  FILE* pipe_;
};

}  // namespace herald::test
