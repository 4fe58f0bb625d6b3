#pragma once
// HERALD_TEST_URL_OPTIONS: URL options every test appends to the Herald URLs it builds, e.g.
// "amqp_durable_queues=true" or "rabbit_quorum_queue=true" for RabbitMQ 4.0 with transient
// non-exclusive queues denied (docs/brokers.md). Shared by the integration and interop tests.

#include <cstdlib>
#include <string>

namespace herald::test {

/// The value of HERALD_TEST_URL_OPTIONS ("" when unset).
inline std::string test_url_options() {
  const char* extra = std::getenv("HERALD_TEST_URL_OPTIONS");
  return extra ? extra : "";
}

/// `url` with HERALD_TEST_URL_OPTIONS appended to its query ('?' or '&' as needed).
inline std::string with_test_options(std::string url) {
  std::string extra = test_url_options();
  if (!extra.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + extra;
  return url;
}

/// True when HERALD_TEST_URL_OPTIONS makes Herald declare durable queues and exchanges
/// (`amqp_durable_queues=true` or `rabbit_quorum_queue=true`): tests that pre-declare objects
/// "with Herald's flags", or with the opposite ones, read it.
inline bool test_options_declare_durable() {
  const std::string extra = "&" + test_url_options() + "&";
  return extra.find("&amqp_durable_queues=true&") != std::string::npos ||
         extra.find("&rabbit_quorum_queue=true&") != std::string::npos;
}

}  // namespace herald::test
