#include "config/oslo_options.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace herald::detail {
namespace {

using enum OptionType;
using enum OptionUse;

constexpr std::string_view kQuorum = "transient quorum queues are for RPC replies only";
constexpr std::string_view kKombu = "a kombu (AMQP 0-9-1) setting with no AMQP 1.0 counterpart in Herald";

// clang-format off
constexpr std::array kSpecs = {
    // [DEFAULT]
    OptionSpec{kDefaultGroup, "transport_url", url, herald},
    OptionSpec{kDefaultGroup, "control_exchange", string, herald},
    OptionSpec{kDefaultGroup, "executor_thread_pool_size", integer, herald, {}, 1, 100000},
    OptionSpec{kDefaultGroup, "notification_driver", multi, alias, {}, 0, 0, kNotificationsGroup, "driver"},
    OptionSpec{kDefaultGroup, "notification_topics", list, alias, {}, 0, 0, kNotificationsGroup, "topics"},
    OptionSpec{kDefaultGroup, "notification_transport_url", url, alias, {}, 0, 0, kNotificationsGroup, "transport_url"},
    // [oslo_messaging_notifications]
    OptionSpec{kNotificationsGroup, "driver", multi, herald},
    OptionSpec{kNotificationsGroup, "transport_url", url, herald},
    OptionSpec{kNotificationsGroup, "topics", list, herald},
    OptionSpec{kNotificationsGroup, "retry", integer, herald, {}, -1, 1000000000},
    OptionSpec{kNotificationsGroup, "routing_config", string, herald},
    // [oslo_messaging_rabbit], implemented as amqp:// query options
    OptionSpec{kRabbitGroup, "amqp_durable_queues", boolean, query, "amqp_durable_queues"},
    OptionSpec{kRabbitGroup, "heartbeat_timeout_threshold", integer, query, "idle_timeout", 0, 86400},
    OptionSpec{kRabbitGroup, "kombu_reconnect_delay", seconds, query, "reconnect_delay", 0, 86400},
    OptionSpec{kRabbitGroup, "rabbit_interval_max", seconds, query, "reconnect_max_delay", 0, 86400},
    OptionSpec{kRabbitGroup, "ssl", boolean, query, {}, 0, 0, {}, {}, "selects amqps://"},
    OptionSpec{kRabbitGroup, "ssl_ca_file", string, query, "ssl_ca_file"},
    OptionSpec{kRabbitGroup, "rabbit_login_method", string, query, "sasl_mechanisms"},
    OptionSpec{kRabbitGroup, "rabbit_qos_prefetch_count", integer, herald, {}, 0, 1000000},
    OptionSpec{kRabbitGroup, "rabbit_quorum_queue", boolean, query, "rabbit_quorum_queue"},
    OptionSpec{kRabbitGroup, "rabbit_quorum_delivery_limit", integer, query, "rabbit_quorum_delivery_limit", 0, 2147483647},
    OptionSpec{kRabbitGroup, "rabbit_quorum_max_memory_length", integer, query, "rabbit_quorum_max_memory_length", 0, 2147483647},
    OptionSpec{kRabbitGroup, "rabbit_quorum_max_memory_bytes", integer, query, "rabbit_quorum_max_memory_bytes", 0, 2147483647},
    OptionSpec{kRabbitGroup, "rabbit_quroum_max_memory_length", integer, query, "rabbit_quorum_max_memory_length", 0, 2147483647},
    OptionSpec{kRabbitGroup, "rabbit_quroum_max_memory_bytes", integer, query, "rabbit_quorum_max_memory_bytes", 0, 2147483647},
    OptionSpec{kRabbitGroup, "rabbit_transient_queues_ttl", integer, query, "rabbit_transient_queues_ttl", 1, 2147483647},
    // [oslo_messaging_rabbit], known and not implemented
    OptionSpec{kRabbitGroup, "rabbit_transient_quorum_queue", boolean, not_implemented, {}, 0, 0, {}, {}, kQuorum},
    OptionSpec{kRabbitGroup, "ssl_cert_file", string, query, "ssl_cert_file"},
    OptionSpec{kRabbitGroup, "ssl_key_file", string, query, "ssl_key_file"},
    OptionSpec{kRabbitGroup, "ssl_version", string, not_implemented, {}, 0, 0, {}, {}, "Herald uses the TLS versions OpenSSL allows"},
    OptionSpec{kRabbitGroup, "ssl_enforce_fips_mode", boolean, not_implemented},
    OptionSpec{kRabbitGroup, "amqp_auto_delete", boolean, not_implemented},
    OptionSpec{kRabbitGroup, "rabbit_ha_queues", boolean, not_implemented, {}, 0, 0, {}, {}, "classic mirrored queues are deprecated by RabbitMQ"},
    OptionSpec{kRabbitGroup, "heartbeat_rate", integer, not_implemented, {}, 0, 0, {}, {}, "AMQP 1.0 idle-timeout needs no rate"},
    OptionSpec{kRabbitGroup, "heartbeat_in_pthread", boolean, not_implemented, {}, 0, 0, {}, {}, kKombu},
    OptionSpec{kRabbitGroup, "kombu_compression", string, not_implemented},
    OptionSpec{kRabbitGroup, "kombu_failover_strategy", string, not_implemented, {}, 0, 0, {}, {}, "Herald tries hosts in order"},
    OptionSpec{kRabbitGroup, "kombu_missing_consumer_retry_timeout", integer, not_implemented, {}, 0, 0, {}, {}, kKombu},
    OptionSpec{kRabbitGroup, "kombu_reconnect_splay", seconds, not_implemented},
    OptionSpec{kRabbitGroup, "rabbit_retry_interval", integer, not_implemented, {}, 0, 0, {}, {}, "use kombu_reconnect_delay"},
    OptionSpec{kRabbitGroup, "rabbit_retry_backoff", integer, not_implemented, {}, 0, 0, {}, {}, "Herald doubles the delay"},
    OptionSpec{kRabbitGroup, "enable_cancel_on_failover", boolean, not_implemented, {}, 0, 0, {}, {}, kKombu},
    OptionSpec{kRabbitGroup, "direct_mandatory_flag", boolean, not_implemented, {}, 0, 0, {}, {}, "RPC only"},
    OptionSpec{kRabbitGroup, "use_queue_manager", boolean, not_implemented, {}, 0, 0, {}, {}, "RPC only"},
    OptionSpec{kRabbitGroup, "rabbit_stream_fanout", boolean, not_implemented, {}, 0, 0, {}, {}, "RPC only"},
    OptionSpec{kRabbitGroup, "hostname", string, not_implemented, {}, 0, 0, {}, {}, "RPC only"},
    OptionSpec{kRabbitGroup, "processname", string, not_implemented, {}, 0, 0, {}, {}, "RPC only"},
    // [herald]
    OptionSpec{kHeraldGroup, "send_timeout", seconds, herald, {}, 0, 86400},
    OptionSpec{kHeraldGroup, "outbox_dir", string, herald},
    OptionSpec{kHeraldGroup, "outbox_commit_interval", seconds, herald, {}, 0, 10},
    OptionSpec{kHeraldGroup, "outbox_max_bytes", integer, herald, {}, 65536, 1e15},
    OptionSpec{kHeraldGroup, "outbox_full_policy", string, herald},
};
// clang-format on

}  // namespace

std::span<const OptionSpec> option_specs() { return kSpecs; }

const OptionSpec* find_option(std::string_view group, std::string_view name) {
  for (const OptionSpec& spec : kSpecs)
    if (spec.group == group && spec.name == name) return &spec;
  return nullptr;
}

bool reports_unknown_options(std::string_view group) { return group == kNotificationsGroup || group == kRabbitGroup; }

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<bool> parse_oslo_bool(std::string_view text) {
  const std::string value = to_lower(text);
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  return std::nullopt;
}

std::optional<std::string> sasl_mechanism_for(std::string_view login_method) {
  const std::string method = to_lower(login_method);
  if (method == "plain" || method == "amqplain") return "PLAIN";
  if (method == "external") return "EXTERNAL";
  return std::nullopt;
}

std::string normalise_group_name(std::string_view group) {
  return group == kDefaultGroup ? std::string(group) : to_lower(group);
}

}  // namespace herald::detail
