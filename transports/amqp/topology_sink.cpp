#include "transports/amqp/topology_sink.hpp"

namespace herald::detail {

bool is_inequivalent(const std::string& broker_text) {
  return broker_text.find("PRECONDITION_FAILED") != std::string::npos ||
         broker_text.find("inequivalent") != std::string::npos;
}

std::string explain_refusal(const std::string& what, const std::string& broker_text) {
  std::string text = broker_text;
  // RabbitMQ's deprecation warnings span several lines: keep the first.
  if (auto newline = text.find('\n'); newline != std::string::npos) text.resize(newline);
  if (broker_text.find("transient_nonexcl_queues") != std::string::npos)
    return what + ": RabbitMQ denies the deprecated feature transient_nonexcl_queues (non-durable, non-exclusive " +
           "queues); set amqp_durable_queues=true or rabbit_quorum_queue=true (broker said: " + text + ")";
  if (broker_text.find("amqp_address_v1") != std::string::npos)
    return what + ": RabbitMQ denies the deprecated feature amqp_address_v1 (v1 addresses); use address_format=auto " +
           "or v2 (broker said: " + text + ")";
  return what + ": " + text;
}

}  // namespace herald::detail
