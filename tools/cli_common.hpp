#pragma once
// Shared pieces of the herald CLI subcommands.

#include <herald/herald.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald::cli {

/// Registers a subcommand; the callback sets the process exit code.
void add_send_command(CLI::App& app, int& exit_code);
void add_listen_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_topology_command(CLI::App& app, int& exit_code);
void add_dlq_command(CLI::App& app, int& exit_code);
void add_config_command(CLI::App& app, int& exit_code);
void add_outbox_command(CLI::App& app, int& exit_code);
void add_route_command(CLI::App& app, int& exit_code);

/// The oslo.config sources of a command: `--config-file` (repeatable), plus the flags the user
/// gave explicitly, which override the files and the `OS_*` environment.
class ConfigFlags {
 public:
  /// Adds `--config-file` to `cmd`.
  void add_to(CLI::App* cmd);
  /// A default of the command (the lowest layer), e.g. the `memory://` URL.
  void set_default(std::string group, std::string option, std::string value);
  /// Overrides `group`/`option` with the value of `flag` when it was given on the command line.
  /// `value` is read when load() runs, after parsing.
  void override_with(CLI::Option* flag, std::string group, std::string option, std::function<std::string()> value);
  /// Files, then OS_* variables, then the flags given. Logs ignored options once on `logger`.
  /// @throws ConfigError naming the file and line, variable or flag.
  Config load(const std::shared_ptr<spdlog::logger>& logger) const;

 private:
  struct Override {
    CLI::Option* flag;
    std::string group;
    std::string option;
    std::function<std::string()> value;
  };
  std::vector<std::string> files_;
  std::vector<ConfigValue> defaults_;
  std::vector<Override> overrides_;
};

/// Transport::open(config.transport_url, options). A bad transport option that came from a
/// `[herald]` setting is reported with where it was set (the driver checks those options).
std::shared_ptr<Transport> open_transport(const Config& config, TransportOptions options);

/// `message` plus a hint when it looks like the broker does not speak AMQP 1.0 (a RabbitMQ 3.x
/// without the rabbitmq_amqp1_0 plugin answers the AMQP 1.0 header with its 0-9-1 one).
std::string with_broker_hint(const std::string& message);

/// A live "label: count (rate/s)" line on stderr, redrawn twice a second, only when stderr is a
/// terminal and after the first second (short runs stay quiet). Stops and clears on destruction.
class ProgressLine {
 public:
  ProgressLine(std::string label, std::function<std::uint64_t()> count);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  std::string label_;
  std::function<std::uint64_t()> count_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Whether `fd` is a terminal.
bool is_terminal(int fd) noexcept;

/// ANSI colours for pretty JSON: keys, strings, numbers, literals.
std::string colourise_json(const std::string& json);

/// An ANSI colour escape for a priority (red for error/critical, yellow for warn...).
std::string_view priority_colour(Priority priority) noexcept;

/// A stderr logger for the CLI (never spdlog's default logger).
std::shared_ptr<spdlog::logger> make_cli_logger(bool verbose);

/// Parses "info,warn" into priorities. @throws CLI::ValidationError naming the bad one.
std::vector<Priority> parse_priorities(const std::string& list);

/// How `notification_json` writes NaN and ±Infinity, which JSON cannot hold.
enum class NonFinite {
  null,    ///< `null`, and the object gets `"non_finite": true` (valid JSON; the default)
  python,  ///< `NaN`, `Infinity`, `-Infinity`, as Python's json module (not valid JSON)
};

/// One JSON object for a handled notification: message_id, _unique_id, publisher_id,
/// event_type, priority, payload, timestamp, context. `pretty` indents it. Always one
/// complete object, whatever the payload holds.
std::string notification_json(const Notification& n, bool pretty, NonFinite non_finite = NonFinite::null);

}  // namespace herald::cli
