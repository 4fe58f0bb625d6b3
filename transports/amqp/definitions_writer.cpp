// `herald::topology_definitions`: the amqp driver's Topology rules written to a RabbitMQ
// definitions document instead of the management API, so both stay one piece of code.

#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/management_client.hpp"
#include "transports/amqp/topology.hpp"
#include "transports/listen_bindings.hpp"

#include "core/logging.hpp"

#include <herald/error.hpp>
#include <herald/topology.hpp>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace herald {
namespace detail {
namespace {

struct Definitions {
  struct Exchange {
    std::string name, type;
    bool durable;
  };
  struct Queue {
    std::string name;
    QueueSpec spec;
  };
  struct Binding {
    std::string exchange, queue, routing_key;
  };
  std::vector<Exchange> exchanges;
  std::vector<Queue> queues;
  std::vector<Binding> bindings;
};

class DefinitionsWriter final : public TopologySink {
 public:
  explicit DefinitionsWriter(Definitions& out) : out_(out) {}
  void declare_exchange(const std::string& name, const std::string& type, bool durable) override {
    out_.exchanges.push_back({name, type, durable});
  }
  void declare_queue(const std::string& name, const QueueSpec& spec) override { out_.queues.push_back({name, spec}); }
  void bind_queue(const std::string& exchange, const std::string& queue, const std::string& routing_key) override {
    out_.bindings.push_back({exchange, queue, routing_key});
  }

 private:
  Definitions& out_;
};

std::string to_json(const Definitions& d, const std::string& vhost) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  w.Key("exchanges");
  w.StartArray();
  for (const auto& e : d.exchanges) {
    w.StartObject();
    w.Key("name"), w.String(e.name), w.Key("vhost"), w.String(vhost), w.Key("type"), w.String(e.type);
    w.Key("durable"), w.Bool(e.durable), w.Key("auto_delete"), w.Bool(false), w.Key("internal"), w.Bool(false);
    w.Key("arguments"), w.StartObject(), w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("queues");
  w.StartArray();
  for (const auto& q : d.queues) {
    w.StartObject();
    w.Key("name"), w.String(q.name), w.Key("vhost"), w.String(vhost);
    w.Key("durable"), w.Bool(q.spec.durable), w.Key("auto_delete"), w.Bool(q.spec.auto_delete);
    w.Key("arguments"), w.StartObject();
    for (const auto& [key, value] : q.spec.arguments) {
      w.Key(key);
      if (const auto* text = std::get_if<std::string>(&value))
        w.String(*text);
      else
        w.Int64(std::get<std::int64_t>(value));
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("bindings");
  w.StartArray();
  for (const auto& b : d.bindings) {
    w.StartObject();
    w.Key("source"), w.String(b.exchange), w.Key("vhost"), w.String(vhost), w.Key("destination"), w.String(b.queue);
    w.Key("destination_type"), w.String("queue"), w.Key("routing_key"), w.String(b.routing_key);
    w.Key("arguments"), w.StartObject(), w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace
}  // namespace detail

std::string topology_definitions(std::string_view url, const TopologySpec& spec) {
  TransportUrl parsed = TransportUrl::parse(url);
  if (parsed.scheme() == "memory") throw ConfigError("transport_url: topology export needs an amqp:// URL");
  if (spec.control_exchange.empty()) throw ConfigError("control_exchange: must not be empty");
  if (spec.priorities.empty()) throw ConfigError("priorities: at least one priority is required");
  TransportOptions transport_options;
  transport_options.control_exchange = spec.control_exchange;
  detail::AmqpOptions options = detail::parse_amqp_options(parsed, transport_options);
  options.topology = detail::TopologyMode::management;  // export even when the URL says topology=none
  detail::Definitions definitions;
  detail::Topology topology(options, detail::logger_or_default(nullptr),
                            std::make_unique<detail::DefinitionsWriter>(definitions));
  topology.declare_for_listen(detail::listen_bindings(spec.targets, spec.priorities, spec.pool, spec.control_exchange));
  return detail::to_json(definitions, parsed.virtual_host().empty() ? "/" : parsed.virtual_host());
}

}  // namespace herald
