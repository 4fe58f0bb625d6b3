// The CLI configured by oslo.config files: a listener configured only by a nova.conf-style file
// with a rabbit:// transport_url receives notifications; `herald config show` masks secrets.
#include "tests/integration/amqp_support.hpp"
#include "tests/integration/cli_support.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <set>
#include <thread>

namespace herald::test {
namespace {

std::string rabbit_url() {
  return with_test_options("rabbit://guest:guest@127.0.0.1:" + std::to_string(broker_port()) + "/");
}

std::string oslo_config(const std::string& topic) {
  return "[DEFAULT]\n"
         "debug = true\n"
         "my_ip = 127.0.0.1\n"
         "transport_url = " +
         with_test_options("rabbit://guest:guest@$my_ip:" + std::to_string(broker_port()) + "/") +
         "\n"
         "[database]\n"
         "connection = mysql+pymysql://nova:dbpass@127.0.0.1/nova\n"
         "[oslo_messaging_notifications]\n"
         "driver = messagingv2\n"
         "topics = " +
         topic +
         "\n"
         "[oslo_messaging_rabbit]\n"
         "heartbeat_timeout_threshold = 30\n"
         "kombu_reconnect_delay = 0.2\n"
         "rabbit_ha_queues = false\n";
}

TEST(CliConfig, ListenerConfiguredOnlyByAnOsloFileReceives) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::string topic = unique_name("oslo-conf");
  TempFile conf(oslo_config(topic));
  BackgroundCommand listener(cli_path() + " listen --config-file " + conf.path() + " --count 5 --timeout 60");
  // The sender uses the same file: topics and transport come from it.
  CommandResult sent = run_command(cli_path() + " send --config-file " + conf.path() +
                                   " --publisher-id conf.test --event-type conf.event --payload '{\"n\": 1}'"
                                   " --count 5 --timeout 30");
  EXPECT_EQ(sent.status, 0) << sent.out << sent.err;
  CommandResult listened = listener.wait();
  EXPECT_EQ(listened.status, 0) << listened.err;
  std::istringstream lines(listened.out);
  std::string line;
  std::set<std::string> ids;
  while (std::getline(lines, line)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    ASSERT_FALSE(doc.HasParseError()) << line;
    EXPECT_STREQ(doc["event_type"].GetString(), "conf.event");
    ids.insert(doc["message_id"].GetString());
  }
  EXPECT_EQ(ids.size(), 5u);
  // The unimplemented option is listed once, at start.
  EXPECT_NE(listened.err.find("rabbit_ha_queues"), std::string::npos) << listened.err;
}

TEST(CliConfig, EnvironmentAndFlagsOverrideTheFile) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::string file_topic = unique_name("file-topic");
  const std::string env_topic = unique_name("env-topic");
  TempFile conf(oslo_config(file_topic));
  // OS_OSLO_MESSAGING_NOTIFICATIONS__TOPICS wins over the file for the listener.
  BackgroundCommand listener("OS_OSLO_MESSAGING_NOTIFICATIONS__TOPICS=" + env_topic + " " + cli_path() +
                             " listen --config-file " + conf.path() + " --count 1 --timeout 60");
  // --topic wins over the environment for the sender.
  CommandResult sent = run_command("OS_OSLO_MESSAGING_NOTIFICATIONS__TOPICS=" + file_topic + " " + cli_path() +
                                   " send --config-file " + conf.path() + " --topic " + env_topic +
                                   " --publisher-id p --event-type e --payload '{}' --timeout 30");
  EXPECT_EQ(sent.status, 0) << sent.out << sent.err;
  CommandResult listened = listener.wait();
  EXPECT_EQ(listened.status, 0) << listened.err;
  EXPECT_NE(listened.out.find("\"event_type\":\"e\""), std::string::npos) << listened.out;
}

TEST(CliConfig, ConfigShowMasksThePassword) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  TempFile conf(
      "[DEFAULT]\ntransport_url = rabbit://nova:n0va-s3cret@ctl1:5672,nova:n0va-s3cret@ctl2:5672/\n"
      "[oslo_messaging_rabbit]\nssl = true\nssl_ca_file = /etc/ssl/ca.pem\nrabbit_ha_queues = true\n"
      "[herald]\nssl_key_password = k3y-pass\n");
  CommandResult shown = run_command(cli_path() + " config show --config-file " + conf.path());
  EXPECT_EQ(shown.status, 0) << shown.err;
  EXPECT_EQ(shown.out.find("n0va-s3cret"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("k3y-pass"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("nova:****@ctl1:5672"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("amqps://"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("rabbit_ha_queues"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(conf.path() + ":2"), std::string::npos) << shown.out;
}

TEST(CliConfig, BadValueNamesFileAndLine) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  TempFile conf("[oslo_messaging_notifications]\nretry = often\n");
  CommandResult result = run_command(cli_path() + " listen --config-file " + conf.path() + " --count 1 --timeout 1");
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.err.find(conf.path() + ":2: [oslo_messaging_notifications] retry"), std::string::npos) << result.err;
}

TEST(CliConfig, BadHeraldTransportOptionNamesFileAndLine) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  TempFile conf("[DEFAULT]\ntransport_url = " + rabbit_url() + "\n[herald]\n\nin_flight_window = lots\n");
  CommandResult result = run_command(cli_path() + " send --config-file " + conf.path() +
                                     " --publisher-id p --event-type e --payload '{}' --timeout 5");
  EXPECT_EQ(result.status, 2);
  EXPECT_NE(result.err.find(conf.path() + ":5: [herald] in_flight_window"), std::string::npos) << result.err;
}

TEST(CliConfig, RabbitUrlOnTheCommandLine) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  const std::string topic = unique_name("rabbit-url");
  BackgroundCommand listener(cli_path() + " listen --url '" + rabbit_url() + "' --topic " + topic +
                             " --count 1 --timeout 60");
  CommandResult sent = run_command(cli_path() + " send --url '" + rabbit_url() + "' --topic " + topic +
                                   " --publisher-id p --event-type e --payload '{}' --timeout 30");
  EXPECT_EQ(sent.status, 0) << sent.out << sent.err;
  EXPECT_EQ(listener.wait().status, 0);
}

// A port that answers like RabbitMQ 3.x without its AMQP 1.0 plugin: the AMQP 0-9-1 protocol
// header, then close.
class AmqpWithoutTheAmqp10Plugin {
 public:
  AmqpWithoutTheAmqp10Plugin() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      while (!stop_) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) continue;
        char header[8];
        (void)::recv(client, header, sizeof header, 0);
        (void)::send(client, "AMQP\x00\x00\x09\x01", 8, MSG_NOSIGNAL);
        ::close(client);
      }
    });
  }
  ~AmqpWithoutTheAmqp10Plugin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(CliConfig, ABrokerWithoutAmqp10GetsAnErrorThatSaysSo) {
  if (cli_path().empty()) GTEST_SKIP() << "the herald CLI is not built in this configuration";
  AmqpWithoutTheAmqp10Plugin broker;
  CommandResult result = run_command(cli_path() + " send --url 'rabbit://127.0.0.1:" + std::to_string(broker.port()) +
                                     "/?topology=none' --publisher-id p --event-type e --payload '{}' --timeout 2");
  EXPECT_NE(result.status, 0);
  EXPECT_NE(result.err.find("rabbitmq-plugins enable rabbitmq_amqp1_0"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace herald::test
