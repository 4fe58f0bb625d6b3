// How [oslo_messaging_rabbit] and [herald] options become the transport URL Herald opens.
#include "config/oslo_config.hpp"

#include <herald/config.hpp>
#include <herald/error.hpp>

#include <gtest/gtest.h>

namespace herald {
namespace {

Config load(const std::string& text, ConfigSources sources = {}) {
  return detail::load_config({{"f.conf", text}}, sources);
}

bool ignored(const Config& config, const std::string& option) {
  for (const IgnoredOption& o : config.ignored)
    if (o.option == option) return true;
  return false;
}

TEST(ConfigTransportUrl, SslSelectsAmqpsAndKeepsOslosPort) {
  Config config = load(
      "[DEFAULT]\ntransport_url = rabbit://u:p@h1,u:p@h2:5671/\n"
      "[oslo_messaging_rabbit]\nssl = true\nssl_ca_file = /etc/ssl/ca.pem\n");
  EXPECT_EQ(config.transport_url, "amqps://u:p@h1:5672,u:p@h2:5671/?ssl_ca_file=%2Fetc%2Fssl%2Fca.pem");
  EXPECT_TRUE(config.ignored.empty()) << config.ignored_summary();
}

TEST(ConfigTransportUrl, SslFileOptionsWithoutTlsAreListed) {
  Config config = load("[oslo_messaging_rabbit]\nssl_ca_file = /ca.pem\n");
  EXPECT_EQ(config.transport_url, "amqp://guest:guest@localhost:5672/");
  EXPECT_TRUE(ignored(config, "ssl_ca_file"));
}

TEST(ConfigTransportUrl, ClientCertificateOptionsBecomeQueryOptionsWithTls) {
  Config config = load("[oslo_messaging_rabbit]\nssl = true\nssl_cert_file = /c.pem\nssl_key_file = /k.pem\n");
  EXPECT_EQ(config.transport_url, "amqps://guest:guest@localhost:5672/?ssl_cert_file=%2Fc.pem&ssl_key_file=%2Fk.pem");
  EXPECT_TRUE(config.ignored.empty()) << config.ignored_summary();
  Config plain = load("[oslo_messaging_rabbit]\nssl_cert_file = /c.pem\n");
  EXPECT_TRUE(ignored(plain, "ssl_cert_file")) << "TLS is off: listed, not silently dropped";
}

TEST(ConfigTransportUrl, QueryOptionsOfTheUrlWinOverTheGroup) {
  Config config = load(
      "[DEFAULT]\ntransport_url = amqp://u:p@h/?idle_timeout=5\n"
      "[oslo_messaging_rabbit]\nheartbeat_timeout_threshold = 60\nrabbit_interval_max = 20\n");
  EXPECT_EQ(config.transport_url, "amqp://u:p@h/?idle_timeout=5&reconnect_max_delay=20");
}

TEST(ConfigTransportUrl, OsloQueryOptionsOfARabbitUrlAreTranslated) {
  Config config = load(
      "[DEFAULT]\ntransport_url = "
      "rabbit://u:p@h:5671/?ssl=1&heartbeat_timeout_threshold=30&rabbit_ha_queues=true&in_flight_window=9\n");
  EXPECT_EQ(config.transport_url, "amqps://u:p@h:5671/?idle_timeout=30&in_flight_window=9");
  EXPECT_TRUE(ignored(config, "rabbit_ha_queues"));
}

TEST(ConfigTransportUrl, LoginMethod) {
  EXPECT_EQ(load("[oslo_messaging_rabbit]\nrabbit_login_method = AMQPLAIN\n").transport_url,
            "amqp://guest:guest@localhost:5672/?sasl_mechanisms=PLAIN");
  EXPECT_EQ(load("[oslo_messaging_rabbit]\nrabbit_login_method = EXTERNAL\n").transport_url,
            "amqp://guest:guest@localhost:5672/?sasl_mechanisms=EXTERNAL");
  EXPECT_THROW(load("[oslo_messaging_rabbit]\nrabbit_login_method = RABBIT-CR-DEMO\n"), ConfigError);
}

TEST(ConfigTransportUrl, RabbitOptionsDoNotApplyToMemory) {
  Config config = load("[DEFAULT]\ntransport_url = memory://\n[oslo_messaging_rabbit]\namqp_durable_queues = true\n");
  EXPECT_EQ(config.transport_url, "memory:///");
  EXPECT_TRUE(ignored(config, "amqp_durable_queues"));
}

TEST(ConfigTransportUrl, HeraldGroupOptionsGoToTheQuery) {
  ConfigSources sources;
  sources.overrides = {{"herald", "in_flight_window", "50", "--in-flight-window"}};
  Config config = load(
      "[DEFAULT]\ntransport_url = amqp://u:p@h/?in_flight_window=10\n[herald]\ndelivery = at_most_once\n", sources);
  EXPECT_EQ(config.transport_url, "amqp://u:p@h/?in_flight_window=50&delivery=at_most_once");
}

TEST(ConfigTransportUrl, VirtualHostsAndOddCharactersSurvive) {
  EXPECT_EQ(load("[DEFAULT]\ntransport_url = amqp://u%40x:p%2Fq@h//\n").transport_url, "amqp://u%40x:p%2Fq@h/%2F");
  EXPECT_EQ(load("[DEFAULT]\ntransport_url = amqp://u:p@[::1]:5672/vh\n").transport_url, "amqp://u:p@[::1]:5672/vh");
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

TEST(ConfigTransportUrl, QuorumQueueOptionsBecomeQueryOptions) {
  Config config = load(
      "[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\nrabbit_quorum_delivery_limit = 10\n"
      "rabbit_quroum_max_memory_length = 500\nrabbit_transient_queues_ttl = 60\n");
  EXPECT_EQ(config.transport_url,
            "amqp://guest:guest@localhost:5672/?rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=10"
            "&rabbit_quorum_max_memory_length=500&rabbit_transient_queues_ttl=60");
  EXPECT_TRUE(config.ignored.empty()) << config.ignored_summary();
}

}  // namespace
}  // namespace herald
