#pragma once
// Helpers of the cluster tests (issue 9 item 5): control of the three nodes of a
// `scripts/rabbitmq cluster-start` cluster whose node 1 listens on RMQ_PORT, the failover URL
// naming all three, and which node a transport is connected to (from its log).

#include "tests/integration/amqp_support.hpp"
#include "tests/integration/fault_broker.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace herald::test {

/// Nodes in a `scripts/rabbitmq` cluster.
inline constexpr int kClusterNodes = 3;

/// AMQP port of node `node` (1..3): RMQ_PORT + node - 1.
int node_port(int node);
/// The node (1..3) listening on AMQP port `port`, or 0.
int node_of_port(int port);
/// `scripts/rabbitmq <command>` for node `node` of the cluster (RMQ_NODE), or for the whole
/// cluster when `node` is 0 (cluster-start, cluster-status, cluster-leader...).
CommandResult cluster_script(int node, const std::string& command);
/// Empty when all three nodes listen and node 1's management API lists them running; otherwise
/// why not (the skip message).
std::string cluster_unavailable_reason();
/// The node (1..3) leading quorum queue `queue` (the management API's `leader`, what
/// `scripts/rabbitmq cluster-leader` reads with rabbitmqctl), or 0 when none answers.
int cluster_leader(const std::string& queue);
/// A node (1..3) other than `except` whose AMQP port accepts connections, or 0.
int live_node(int except = 0);
/// "amqp://guest:guest@127.0.0.1:P1,guest:guest@127.0.0.1:P2,guest:guest@127.0.0.1:P3/" +
/// `query`, with HERALD_TEST_URL_OPTIONS appended.
std::string cluster_url(const std::string& query);
/// The AMQP port of the most recent "amqp: connected to 127.0.0.1:<port>" line in `log`, or 0.
int connected_port(const CapturedLog& log);

/// Starts a killed node again on a thread of its own (the cluster heals while the test goes on)
/// and waits, in join(), until the node answers; the destructor joins.
class NodeRestart {
 public:
  explicit NodeRestart(int node);
  ~NodeRestart();
  NodeRestart(const NodeRestart&) = delete;
  NodeRestart& operator=(const NodeRestart&) = delete;
  /// Waits for the start to finish; true when the node runs again.
  bool join();
  /// Seconds the start took (valid after join()).
  double seconds() const noexcept { return seconds_; }
  /// What the start printed (valid after join()).
  const std::string& output() const noexcept { return result_.output; }

 private:
  CommandResult result_;
  double seconds_ = 0;
  std::thread thread_;
};

}  // namespace herald::test
