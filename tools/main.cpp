// herald: send, listen and demo from the command line.
#include "cli_common.hpp"

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"herald: leveled notifications between services (oslo.messaging compatible)"};
  app.set_version_flag("--version", "herald " HERALD_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  herald::cli::add_send_command(app, exit_code);
  herald::cli::add_listen_command(app, exit_code);
  herald::cli::add_demo_command(app, exit_code);
  herald::cli::add_topology_command(app, exit_code);
  herald::cli::add_dlq_command(app, exit_code);
  herald::cli::add_config_command(app, exit_code);
  herald::cli::add_outbox_command(app, exit_code);
  herald::cli::add_route_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const herald::Error& e) {
    std::cerr << "herald: " << herald::cli::with_broker_hint(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "herald: " << e.what() << "\n";
    return 2;
  }
  return exit_code;
}
