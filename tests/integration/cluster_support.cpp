#include "tests/integration/cluster_support.hpp"

#include <rapidjson/document.h>

#include <regex>

namespace herald::test {

int node_port(int node) { return broker_port() + node - 1; }

int node_of_port(int port) {
  int node = port - broker_port() + 1;
  return node >= 1 && node <= kClusterNodes ? node : 0;
}

CommandResult cluster_script(int node, const std::string& command) {
  std::string line = "RMQ_PORT=" + std::to_string(broker_port());
  if (node > 0) line += " RMQ_NODE=" + std::to_string(node);
  return run_command(line + " " HERALD_SOURCE_DIR "/scripts/rabbitmq " + command);
}

namespace {

std::string node_name(int node) { return "rmq" + std::to_string(node_port(node)) + "@localhost"; }

// The management API's JSON answer to GET `path` on node `node`, or a null document.
rapidjson::Document management_json(int node, const std::string& path) {
  rapidjson::Document doc;
  auto answer = management_http_on(node_port(node), "GET", path);
  if (answer.status != 200 || doc.Parse(answer.body.c_str()).HasParseError()) doc.SetNull();
  return doc;
}

}  // namespace

// The management API answers in well under a second; `cluster-status` runs four rabbitmqctl
// commands (3-28 s on the shared machine).
std::string cluster_unavailable_reason() {
  for (int node = 1; node <= kClusterNodes; ++node)
    if (!port_open(node_port(node)))
      return "no RabbitMQ cluster node listens on 127.0.0.1:" + std::to_string(node_port(node)) +
             "; start one with RMQ_VERSION=4 RMQ_PORT=" + std::to_string(broker_port()) +
             " scripts/rabbitmq cluster-start";
  auto nodes = management_json(1, "/api/nodes");
  if (!nodes.IsArray())
    return "node 1's management API (port " + std::to_string(node_port(1) + 10000) + ") does not answer";
  for (int node = 1; node <= kClusterNodes; ++node) {
    bool running = false;
    for (const auto& entry : nodes.GetArray())
      if (entry.IsObject() && entry.HasMember("name") && entry["name"].IsString() &&
          entry["name"].GetString() == node_name(node) && entry.HasMember("running") && entry["running"].IsBool())
        running = entry["running"].GetBool();
    if (!running) return node_name(node) + " is not a running member of node 1's cluster";
  }
  return "";
}

int cluster_leader(const std::string& queue) {
  int ask = live_node();
  if (!ask) return 0;
  auto doc = management_json(ask, "/api/queues/%2F/" + queue);
  if (!doc.IsObject() || !doc.HasMember("leader") || !doc["leader"].IsString()) return 0;
  for (int node = 1; node <= kClusterNodes; ++node)
    if (doc["leader"].GetString() == node_name(node)) return node;
  return 0;
}

int live_node(int except) {
  for (int node = 1; node <= kClusterNodes; ++node)
    if (node != except && port_open(node_port(node))) return node;
  return 0;
}

std::string cluster_url(const std::string& query) {
  std::string url = "amqp://";
  for (int node = 1; node <= kClusterNodes; ++node)
    url += (node > 1 ? "," : "") + std::string("guest:guest@127.0.0.1:") + std::to_string(node_port(node));
  return with_test_options(url + "/" + query);
}

int connected_port(const CapturedLog& log) {
  static const std::regex connected(R"(amqp: connected to 127\.0\.0\.1:(\d+))");
  std::string text = log.text();
  int port = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), connected), end; it != end; ++it)
    port = std::stoi((*it)[1].str());
  return port;
}

NodeRestart::NodeRestart(int node) {
  thread_ = std::thread([this, node] {
    auto started = std::chrono::steady_clock::now();
    result_ = cluster_script(node, "start");
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  });
}

NodeRestart::~NodeRestart() {
  if (thread_.joinable()) thread_.join();
}

bool NodeRestart::join() {
  if (thread_.joinable()) thread_.join();
  return result_.status == 0;
}

}  // namespace herald::test
