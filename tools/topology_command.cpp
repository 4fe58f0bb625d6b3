// herald topology export: a RabbitMQ definitions file for `rabbitmqctl import_definitions`,
// declaring what Herald would declare itself (for deployments with topology=none).
#include "cli_common.hpp"

#include <cstdio>
#include <fstream>

namespace herald::cli {
namespace {

struct TopologyArgs {
  std::string url = "amqp://guest:guest@127.0.0.1:5672/";
  std::vector<std::string> topics = {"notifications"};
  std::string priorities;
  std::string pool;
  std::string exchange = "openstack";
  std::string output;
};

int run_export(const TopologyArgs& args) {
  TopologySpec spec;
  spec.targets.clear();
  for (const std::string& topic : args.topics) spec.targets.push_back(Target{topic, ""});
  if (!args.priorities.empty()) spec.priorities = parse_priorities(args.priorities);
  spec.pool = args.pool;
  spec.control_exchange = args.exchange;
  std::string json = topology_definitions(args.url, spec);
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
  cmd->add_option("--url", args->url, "amqp:// URL whose options (amqp_durable_queues, dead_letter_exchange) apply")
      ->capture_default_str();
  cmd->add_option("--topic", args->topics, "Topic (repeatable)")->capture_default_str();
  cmd->add_option("--priority", args->priorities, "Priorities, comma-separated (default: all seven)");
  cmd->add_option("--pool", args->pool, "Pool name");
  cmd->add_option("--exchange", args->exchange, "Control exchange")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output file (default: stdout)");
  cmd->callback([args, &exit_code] { exit_code = run_export(*args); });
}

}  // namespace herald::cli
