#pragma once
// Shared pieces of the herald CLI subcommands.

#include <herald/herald.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
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

/// A stderr logger for the CLI (never spdlog's default logger).
std::shared_ptr<spdlog::logger> make_cli_logger(bool verbose);

/// Parses "info,warn" into priorities. @throws CLI::ValidationError naming the bad one.
std::vector<Priority> parse_priorities(const std::string& list);

/// One JSON object for a handled notification: message_id, publisher_id, event_type, priority,
/// payload, timestamp, context. `pretty` indents it.
std::string notification_json(const Notification& n, bool pretty);

/// SIGINT/SIGTERM → a flag the CLI loops poll (installed by install_stop_signals()).
void install_stop_signals();
bool stop_requested() noexcept;

}  // namespace herald::cli
