#pragma once
// Helpers for the oslo.messaging interop tests: the broker URLs, unique names, the Python peer
// process (tests/interop/oslo_peer.py, run by python_command()), and strict JSON comparison.

#include <herald/notification.hpp>
#include <herald/transport.hpp>

#include <rapidjson/document.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace herald::interop {

/// RMQ_PORT, default 5672.
int broker_port();
/// Herald's URL: "amqp://guest:guest@127.0.0.1:<port>/" + query, with HERALD_TEST_URL_OPTIONS
/// appended (e.g. amqp_durable_queues=true for RabbitMQ 4.0; tests/support/test_url_options.hpp).
std::string herald_url(const std::string& query = "");
/// oslo's URL: "rabbit://guest:guest@127.0.0.1:<port>/" + query.
std::string oslo_url(const std::string& query = "");
/// "herald-oslo-<what>-<pid>-<random>": unique per call, so tests never share queues.
std::string unique_name(const std::string& what);
/// A Herald transport whose control exchange is `exchange`.
std::shared_ptr<Transport> open_transport(const std::string& exchange, const std::string& query = "");

/// Parses JSON text with full double precision; fails the calling test on a parse error.
std::unique_ptr<rapidjson::Document> parse_json(std::string_view text);

/// Strict deep equality: same types (an integer never equals a float), same numbers, same
/// strings, same arrays in order, same object members in any order. Returns "" when equal,
/// otherwise a description of the first difference with its JSON path.
std::string json_diff(const rapidjson::Value& expected, const rapidjson::Value& actual, const std::string& path = "$");

/// Compact JSON text of a value.
std::string to_json(const rapidjson::Value& value);

/// The command that runs oslo_peer.py: the words of env HERALD_OSLO_PYTHON, default
/// "/usr/bin/python3" (oslo.messaging 14). "scripts/rabbitmq python" runs the interpreter of the
/// broker version in RMQ_VERSION (4: oslo.messaging 16.1 in the trixie chroot); "env
/// RMQ_VERSION=4 scripts/rabbitmq python" picks oslo 16.1 whatever the broker. Relative paths (a
/// word with a '/' and no '=') are taken from the source tree, a bare command name from PATH.
std::vector<std::string> python_command();

/// The Python peer as a child process. stdout is read line by line into JSON documents;
/// closing stdin asks a `listen` peer to stop. The destructor closes stdin and kills the peer
/// if it has not exited within 30 s.
class PythonPeer {
 public:
  explicit PythonPeer(std::vector<std::string> args);
  ~PythonPeer();
  PythonPeer(const PythonPeer&) = delete;
  PythonPeer& operator=(const PythonPeer&) = delete;

  /// Waits until `n` lines with "event" == `event` arrived (or the peer exited).
  bool wait_for(std::string_view event, std::size_t n, std::chrono::milliseconds timeout);
  /// How many lines with "event" == `event` arrived so far.
  std::size_t count(std::string_view event) const;
  /// Every line with "event" == `event` so far (the documents stay owned by the peer).
  std::vector<const rapidjson::Document*> events(std::string_view event) const;
  /// Every stdout line that was not a JSON object (e.g. the filter command's array).
  std::vector<std::string> raw_lines() const;
  /// Closes the peer's stdin.
  void close_stdin();
  /// Waits for the process to exit; returns its exit status, or -1 on timeout (then kills it).
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  void read_loop();
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  bool exited_ = false;
  int status_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<rapidjson::Document>> docs_;
  std::vector<std::string> raw_;
  bool eof_ = false;
  std::thread reader_;
};

/// The peer's queue flags matching Herald's queue options in HERALD_TEST_URL_OPTIONS, so both
/// sides declare the same exchanges and queues: amqp_durable_queues=true gives "--durable",
/// rabbit_quorum_queue=true "--quorum". HERALD_OSLO_PEER_FLAGS, when set, replaces them (its
/// words, e.g. "--quorum"; set but empty: no flags).
std::vector<std::string> oslo_queue_flags();

/// Arguments common to the peer's send/listen commands, followed by oslo_queue_flags().
std::vector<std::string> peer_args(const std::string& command, const std::string& exchange, const std::string& topic,
                                   const std::string& url_query = "");
/// peer_args without oslo_queue_flags(), for tests that choose the peer's queue flags themselves.
std::vector<std::string> peer_args_without_queue_flags(const std::string& command, const std::string& exchange,
                                                       const std::string& topic, const std::string& url_query = "");

/// Thread-safe store of notifications received by Herald handlers.
class Collector {
 public:
  void add(const Notification& n);
  bool wait(std::size_t n, std::chrono::milliseconds timeout);
  std::size_t size() const;
  std::vector<Notification> all() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Notification> items_;
};

/// The payload Herald sends in the Herald -> oslo tests (same shape as the peer's payload_for):
/// non-ASCII text, escapes, nested objects and lists, and numbers at the int64/uint64 limits.
std::string herald_payload_json(int seq, std::string_view priority);

/// Context both sides send: only keys oslo 14's sanitizer keeps, plus `auth_token`, which both
/// drop.
inline constexpr std::string_view kSentContext =
    R"({"user": "alice", "project_id": "p1", "request_id": "req-42", "roles": ["admin", "reader"], "is_admin": false, "auth_token": "SECRET"})";
/// kSentContext after sanitising.
inline constexpr std::string_view kSanitizedContext =
    R"({"user": "alice", "project_id": "p1", "request_id": "req-42", "roles": ["admin", "reader"], "is_admin": false})";

}  // namespace herald::interop
