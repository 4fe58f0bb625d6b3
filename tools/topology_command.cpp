// herald topology export: a RabbitMQ definitions file for `rabbitmqctl import_definitions`,
// declaring what Herald would declare itself (for deployments with topology=none).
#include "cli_common.hpp"

#include <cstdio>
#include <fstream>

namespace herald::cli {
namespace {

struct TopologyArgs {
  ConfigFlags config;
  std::string url;
  std::vector<std::string> topics;
  std::string priorities;
  std::string pool;
  std::string exchange;
  std::string output;
};

int run_export(const TopologyArgs& args) {
  const Config config = args.config.load(make_cli_logger(false));
  TopologySpec spec;
  spec.targets.clear();
  for (const std::string& topic : config.topics) spec.targets.push_back(Target{topic, ""});
  if (!args.priorities.empty()) spec.priorities = parse_priorities(args.priorities);
  spec.pool = args.pool;
  spec.control_exchange = config.control_exchange;
  std::string json = topology_definitions(config.transport_url, spec);
  if (args.output.empty() || args.output == "-") {
    std::printf("%s\n", json.c_str());
    return 0;
  }
  std::ofstream out(args.output);
  out << json << '\n';
  if (!out) {
    std::fprintf(stderr, "herald topology export: cannot write %s\n", args.output.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s; load it with: rabbitmqctl import_definitions %s\n", args.output.c_str(),
               args.output.c_str());
  return 0;
}

}  // namespace

void add_topology_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TopologyArgs>();
  CLI::App* topology = app.add_subcommand("topology", "RabbitMQ topology helpers");
  topology->require_subcommand(1);
  CLI::App* cmd = topology->add_subcommand("export", "Write a definitions file for rabbitmqctl import_definitions");
  ConfigFlags& config = args->config;
  config.add_to(cmd);
  config.set_default("DEFAULT", "transport_url", "amqp://guest:guest@127.0.0.1:5672/");
  config.override_with(cmd->add_option("--url", args->url,
                                       "amqp:// URL whose options (amqp_durable_queues, dead_letter_exchange) apply "
                                       "(default amqp://guest:guest@127.0.0.1:5672/)"),
                       "oslo_messaging_notifications", "transport_url", [args] { return args->url; });
  config.override_with(cmd->add_option("--topic", args->topics, "Topic (repeatable; default notifications)"),
                       "oslo_messaging_notifications", "topics", [args] {
                         std::string joined;
                         for (const std::string& topic : args->topics) joined += (joined.empty() ? "" : ",") + topic;
                         return joined;
                       });
  cmd->add_option("--priority", args->priorities, "Priorities, comma-separated (default: all seven)");
  cmd->add_option("--pool", args->pool, "Pool name");
  config.override_with(cmd->add_option("--exchange", args->exchange, "Control exchange (default openstack)"), "DEFAULT",
                       "control_exchange", [args] { return args->exchange; });
  cmd->add_option("-o,--output", args->output, "Output file (default: stdout)");
  cmd->callback([args, &exit_code] { exit_code = run_export(*args); });
}

}  // namespace herald::cli
