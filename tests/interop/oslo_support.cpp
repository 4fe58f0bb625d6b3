#include "tests/interop/oslo_support.hpp"

#include "tests/support/test_url_options.hpp"

#include <gtest/gtest.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace herald::interop {

int broker_port() {
  const char* port = std::getenv("RMQ_PORT");
  return port && *port ? std::atoi(port) : 5672;
}

std::string herald_url(const std::string& query) {
  return test::with_test_options("amqp://guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/" + query);
}

std::string oslo_url(const std::string& query) {
  return "rabbit://guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/" + query;
}

std::string unique_name(const std::string& what) {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  return "herald-oslo-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1'000'000'000);
}

std::shared_ptr<Transport> open_transport(const std::string& exchange, const std::string& query) {
  TransportOptions options;
  options.control_exchange = exchange;
  return Transport::open(herald_url(query), options);
}

std::unique_ptr<rapidjson::Document> parse_json(std::string_view text) {
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  if (doc->HasParseError()) {
    ADD_FAILURE() << "invalid JSON (" << rapidjson::GetParseError_En(doc->GetParseError()) << "): " << text;
    doc->SetNull();
  }
  return doc;
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

namespace {

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string kind(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "bool";
  if (v.IsString()) return "string";
  if (v.IsArray()) return "array";
  if (v.IsObject()) return "object";
  if (v.IsDouble()) return "float";
  return "integer";
}

}  // namespace

std::string json_diff(const rapidjson::Value& expected, const rapidjson::Value& actual, const std::string& path) {
  auto differ = [&](const std::string& why) {
    return path + ": " + why + " (expected " + to_json(expected) + ", got " + to_json(actual) + ")";
  };
  if (kind(expected) != kind(actual)) return differ("type " + kind(expected) + " vs " + kind(actual));
  if (expected.IsArray()) {
    if (expected.Size() != actual.Size()) return differ("array size");
    for (rapidjson::SizeType i = 0; i < expected.Size(); ++i) {
      std::string d = json_diff(expected[i], actual[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  if (expected.IsObject()) {
    if (expected.MemberCount() != actual.MemberCount()) return differ("member count");
    for (const auto& m : expected.GetObject()) {
      auto it = actual.FindMember(m.name);
      if (it == actual.MemberEnd()) return differ(std::string("missing key ") + m.name.GetString());
      std::string d = json_diff(m.value, it->value, path + "." + m.name.GetString());
      if (!d.empty()) return d;
    }
    return "";
  }
  if (expected.IsDouble()) {
    return expected.GetDouble() == actual.GetDouble() ? "" : differ("float value");
  }
  if (expected.IsNumber()) {
    bool same = expected.IsUint64() ? actual.IsUint64() && expected.GetUint64() == actual.GetUint64()
                                    : actual.IsInt64() && expected.GetInt64() == actual.GetInt64();
    return same ? "" : differ("integer value");
  }
  return expected == actual ? "" : differ("value");
}

std::vector<std::string> python_command() {
  const char* configured = std::getenv("HERALD_OSLO_PYTHON");
  std::vector<std::string> words = words_of(configured && *configured ? configured : "/usr/bin/python3");
  // "scripts/rabbitmq python" names a file of the source tree, whatever ctest's directory is
  for (auto& word : words)
    if (word.front() != '/' && word.find('/') != std::string::npos && word.find('=') == std::string::npos)
      word = HERALD_SOURCE_DIR "/" + word;
  return words;
}

PythonPeer::PythonPeer(std::vector<std::string> args) {
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  std::vector<std::string> argv_s = python_command();
  argv_s.push_back(HERALD_SOURCE_DIR "/tests/interop/oslo_peer.py");
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  stdin_fd_ = in_pipe[1];
  stdout_fd_ = out_pipe[0];
  if (rc != 0) {
    ::close(stdin_fd_);
    ::close(stdout_fd_);
    throw std::runtime_error("posix_spawn " + argv_s[0] + " failed: " + std::to_string(rc));
  }
  reader_ = std::thread([this] { read_loop(); });
}

PythonPeer::~PythonPeer() {
  close_stdin();
  if (wait_exit(std::chrono::seconds(30)) == -1) ADD_FAILURE() << "python peer had to be killed";
  if (reader_.joinable()) reader_.join();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void PythonPeer::read_loop() {
  std::string pending;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    std::vector<std::unique_ptr<rapidjson::Document>> parsed;
    std::vector<std::string> raw;
    for (std::size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      auto doc = std::make_unique<rapidjson::Document>();
      doc->Parse<rapidjson::kParseFullPrecisionFlag>(line.data(), line.size());
      if (!doc->HasParseError() && doc->IsObject() && doc->HasMember("event"))
        parsed.push_back(std::move(doc));
      else
        raw.emplace_back(line);
    }
    pending.erase(0, start);
    std::lock_guard lock(mutex_);
    for (auto& d : parsed) docs_.push_back(std::move(d));
    for (auto& r : raw) raw_.push_back(std::move(r));
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

static bool is_event(const rapidjson::Document& d, std::string_view event) {
  const auto& e = d["event"];
  return e.IsString() && std::string_view(e.GetString(), e.GetStringLength()) == event;
}

bool PythonPeer::wait_for(std::string_view event, std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto have = [&] {
    std::size_t c = 0;
    for (const auto& d : docs_) c += is_event(*d, event);
    return c >= n;
  };
  changed_.wait_for(lock, timeout, [&] { return eof_ || have(); });
  return have();
}

std::size_t PythonPeer::count(std::string_view event) const {
  std::lock_guard lock(mutex_);
  std::size_t c = 0;
  for (const auto& d : docs_) c += is_event(*d, event);
  return c;
}

std::vector<const rapidjson::Document*> PythonPeer::events(std::string_view event) const {
  std::lock_guard lock(mutex_);
  std::vector<const rapidjson::Document*> out;
  for (const auto& d : docs_)
    if (is_event(*d, event)) out.push_back(d.get());
  return out;
}

std::vector<std::string> PythonPeer::raw_lines() const {
  std::lock_guard lock(mutex_);
  return raw_;
}

void PythonPeer::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

int PythonPeer::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (reader_.joinable()) reader_.join();
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);  // our own child, by pid
      ::waitpid(pid_, &status, 0);
      exited_ = true;
      status_ = -1;
      if (reader_.joinable()) reader_.join();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> oslo_queue_flags() {
  if (const char* configured = std::getenv("HERALD_OSLO_PEER_FLAGS")) return words_of(configured);
  std::vector<std::string> flags;
  std::istringstream options(test::test_url_options());
  for (std::string option; std::getline(options, option, '&');) {
    if (option == "amqp_durable_queues=true") flags.emplace_back("--durable");
    if (option == "rabbit_quorum_queue=true") flags.emplace_back("--quorum");
  }
  return flags;
}

std::vector<std::string> peer_args_without_queue_flags(const std::string& command, const std::string& exchange,
                                                       const std::string& topic, const std::string& url_query) {
  return {command, "--url", oslo_url(url_query), "--exchange", exchange, "--topic", topic};
}

std::vector<std::string> peer_args(const std::string& command, const std::string& exchange, const std::string& topic,
                                   const std::string& url_query) {
  auto args = peer_args_without_queue_flags(command, exchange, topic, url_query);
  auto flags = oslo_queue_flags();
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}

void Collector::add(const Notification& n) {
  {
    std::lock_guard lock(mutex_);
    items_.push_back(n);
  }
  changed_.notify_all();
}

bool Collector::wait(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
}

std::size_t Collector::size() const {
  std::lock_guard lock(mutex_);
  return items_.size();
}

std::vector<Notification> Collector::all() const {
  std::lock_guard lock(mutex_);
  return items_;
}

std::string herald_payload_json(int seq, std::string_view priority) {
  return R"({"seq": )" + std::to_string(seq) + R"(, "priority_sent": ")" + std::string(priority) +
         R"(", "text": "café ☃ 日本 😀 \"quoted\" back\\slash\n\ttab \u0001",)"
         R"( "nested": {"list": [1, 2.5, -3, true, false, null, "x", {"deep": [[]]}],)"
         R"( "obj": {"k": "v", "ümläut": "é"}, "empty": {}},)"
         R"( "numbers": {"zero": 0, "neg": -42, "big": 9007199254740993, "u64max": 18446744073709551615,)"
         R"( "i64min": -9223372036854775808, "pi": 3.141592653589793, "tiny": 1e-07, "huge": 1.5e+300,)"
         R"( "tenth": 0.1, "two_float": 2.0}, "empty_list": [], "nothing": null})";
}

}  // namespace herald::interop
