#pragma once
/// @file config.hpp
/// oslo.config INI files, `OS_<GROUP>__<OPTION>` environment variables and command-line
/// overrides, merged into Herald's options.

#include <herald/notification_server.hpp>
#include <herald/notifier.hpp>
#include <herald/transport.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace herald {

/// Where a configuration value came from.
struct ConfigOrigin {
  /// A file path, an environment variable name (`OS_DEFAULT__TRANSPORT_URL`), a command-line
  /// flag (`--url`), or `default` / `default (herald)`.
  std::string source;
  /// 1-based line in `source` when it is a file; 0 otherwise.
  int line = 0;
  /// "path:12", "OS_X__Y", "--url" or "default".
  std::string to_string() const;
};

/// An option Herald read but does not use, reported once (never silently ignored).
struct IgnoredOption {
  std::string group;   ///< "DEFAULT", "oslo_messaging_rabbit", ...
  std::string option;  ///< as written (lower-case for environment variables)
  ConfigOrigin origin;
  std::string reason;  ///< "unknown option", "not implemented by Herald", ...
};

/// One value of the effective configuration, for display (`herald config show`).
struct ConfigEntry {
  std::string group;
  std::string option;
  std::string value;  ///< secrets masked (passwords in URLs, *password*/*passphrase* options)
  ConfigOrigin origin;
};

/// A value given on the command line or by the application; the same syntax as in a file
/// (lists comma-separated, booleans true/false/yes/no/1/0/on/off). No `$` substitution.
struct ConfigValue {
  std::string group;   ///< "DEFAULT", "oslo_messaging_notifications", "oslo_messaging_rabbit", "herald"
  std::string option;  ///< e.g. "transport_url"
  std::string value;
  std::string source;  ///< shown in errors and `config show`, e.g. "--url"
};

/// What Config::load() reads, lowest precedence first: `defaults`, then every file in order
/// (a later file overrides an earlier one), then `environment`, then `overrides`.
struct ConfigSources {
  /// Defaults of the application (e.g. the CLI's `memory://`), replacing oslo's.
  std::vector<ConfigValue> defaults;
  /// oslo.config INI files, read in order. A missing file is a ConfigError.
  std::vector<std::string> files;
  /// Environment variables by name; only `OS_<GROUP>__<OPTION>` entries are used. Fill it
  /// with Config::process_environment() to honour the real environment.
  std::map<std::string, std::string> environment;
  /// Command-line flags: the highest precedence.
  std::vector<ConfigValue> overrides;
  /// When set, load() logs the list of ignored options once as a warning.
  std::shared_ptr<spdlog::logger> logger;
};

/// The effective configuration from oslo.config sources (docs/operations.md, "Configuration").
///
/// Groups and options:
/// - `[DEFAULT]` `transport_url`, `control_exchange`, `executor_thread_pool_size`, and the
///   deprecated aliases `notification_driver`, `notification_topics`,
///   `notification_transport_url`;
/// - `[oslo_messaging_notifications]` `driver` (multi-valued), `transport_url`, `topics`,
///   `retry`, `routing_config`;
/// - `[oslo_messaging_rabbit]`: options mapped onto amqp:// query options (`ssl`, `ssl_ca_file`,
///   `amqp_durable_queues`, `heartbeat_timeout_threshold`, `kombu_reconnect_delay`, ...); the
///   others (quorum queues, ...) are listed in `ignored`;
/// - `[herald]`: Herald's own transport options, passed to the transport URL query as given
///   (`in_flight_window`, `delivery`, ...), plus `send_timeout` and the outbox options
///   `outbox_dir`, `outbox_commit_interval`, `outbox_max_bytes`, `outbox_full_policy`.
///
/// Unknown options of these groups are listed in `ignored`; other groups and unknown
/// `[DEFAULT]` options are skipped silently (a service's whole nova.conf is fine).
/// Group names are case-insensitive except `DEFAULT` (as in oslo.config). `$name` and
/// `${group.name}` in file and environment values are replaced by other options' values
/// (`$$` is a literal `$`).
///
/// **Thread safety:** a value type.
struct Config {
  /// The URL to open, with `[oslo_messaging_rabbit]` and `[herald]` options applied as query
  /// options (`rabbit://` becomes `amqp://`, or `amqps://` with `ssl = true`). Contains the
  /// password: print `masked_transport_url()` instead.
  std::string transport_url;
  std::string control_exchange = "openstack";
  /// `[oslo_messaging_notifications] driver`; empty when no source sets it, which oslo treats
  /// as "notifications disabled" (notifier_options() then gives `noop`).
  std::vector<std::string> drivers;
  std::vector<std::string> topics = {"notifications"};
  int retry = -1;
  std::string routing_config;
  /// `[herald] send_timeout` (seconds), TransportOptions::send_timeout.
  std::chrono::milliseconds send_timeout{10'000};
  /// `[herald] outbox_dir`: NotifierOptions::outbox.directory (empty: no outbox).
  std::string outbox_dir;
  /// `[herald] outbox_commit_interval` (seconds; 0 = fsync per message, else group commit).
  std::chrono::milliseconds outbox_commit_interval{10};
  /// `[herald] outbox_max_bytes`.
  std::uint64_t outbox_max_bytes = 256ull << 20;
  /// `[herald] outbox_full_policy`: block, fail_new or drop_oldest.
  std::string outbox_full_policy = "block";
  /// `[DEFAULT] executor_thread_pool_size`; 0 when unset (ServerOptions default).
  std::size_t executor_thread_pool_size = 0;
  /// `[oslo_messaging_rabbit] rabbit_qos_prefetch_count`; 0 when unset or 0 (unlimited in oslo).
  std::size_t prefetch_count = 0;

  /// Every option Herald read and does not use, once each, in reading order.
  std::vector<IgnoredOption> ignored;
  /// Every option Herald uses with its effective value (secrets masked) and origin.
  std::vector<ConfigEntry> entries;

  /// Reads and merges the sources.
  /// @throws ConfigError naming the file and line (or variable, or flag) and the option, for
  ///         a syntax error, a bad value, an unknown `$` variable or an unreadable file.
  static Config load(const ConfigSources& sources);

  /// The `OS_*` variables of this process's environment.
  static std::map<std::string, std::string> process_environment();

  /// transport_url with passwords (and secret query options) replaced by `****`.
  std::string masked_transport_url() const;
  /// One line listing `ignored` ("" when nothing was ignored).
  std::string ignored_summary() const;
  /// The effective configuration as an INI text with origins as comments, secrets masked.
  std::string describe() const;

  /// control_exchange and send_timeout.
  TransportOptions transport_options() const;
  /// topics, drivers (`noop` when empty, as oslo), retry, routing_config, outbox.
  NotifierOptions notifier_options() const;
  /// workers from executor_thread_pool_size and credit_window from the prefetch count, when set.
  ServerOptions server_options() const;
};

}  // namespace herald
