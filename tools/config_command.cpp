// herald config show: the effective configuration from oslo.config files, OS_* environment
// variables and flags, with secrets masked.
#include "cli_common.hpp"

#include <cstdio>

namespace herald::cli {
namespace {

struct ConfigArgs {
  ConfigFlags config;
  std::string url;
};

int run_show(const ConfigArgs& args) {
  // Ignored options are part of the output here, not a warning.
  const Config config = args.config.load(nullptr);
  std::fputs(config.describe().c_str(), stdout);
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ConfigArgs>();
  CLI::App* config = app.add_subcommand("config", "oslo.config configuration helpers");
  config->require_subcommand(1);
  CLI::App* cmd = config->add_subcommand("show", "Print the effective configuration (secrets masked)");
  args->config.add_to(cmd);
  CLI::Option* url = cmd->add_option("--url", args->url, "Transport URL (overrides the files)");
  args->config.override_with(url, "oslo_messaging_notifications", "transport_url", [args] { return args->url; });
  cmd->callback([args, &exit_code] { exit_code = run_show(*args); });
}

}  // namespace herald::cli
