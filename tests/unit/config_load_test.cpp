// Config::load: precedence (files, environment, flags), values, errors naming file and line,
// ignored options listed once, masking, a nova.conf-style file.
#include "config/oslo_config.hpp"

#include <herald/config.hpp>
#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>

namespace herald {
namespace {

using detail::ConfigText;
using detail::load_config;

Config load(std::vector<ConfigText> files, ConfigSources sources = {}) { return load_config(files, sources); }

std::string load_error(std::vector<ConfigText> files, ConfigSources sources = {}) {
  try {
    load(std::move(files), std::move(sources));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigLoad, DefaultsAreOslos) {
  Config config = load({});
  EXPECT_EQ(config.transport_url, "amqp://guest:guest@localhost:5672/");  // oslo's rabbit://
  EXPECT_EQ(config.control_exchange, "openstack");
  EXPECT_EQ(config.topics, std::vector<std::string>{"notifications"});
  EXPECT_EQ(config.retry, -1);
  EXPECT_TRUE(config.drivers.empty());
  EXPECT_EQ(config.notifier_options().drivers, std::vector<std::string>{"noop"});  // oslo: no driver, no sends
  EXPECT_TRUE(config.ignored.empty());
}

TEST(ConfigLoad, LaterFilesThenEnvironmentThenFlagsWin) {
  const ConfigText first{"first.conf",
                         "[DEFAULT]\ntransport_url = amqp://a:pa@h1/\ncontrol_exchange = one\n"
                         "[oslo_messaging_notifications]\ntopics = t1\nretry = 1\n"};
  const ConfigText second{"second.conf", "[oslo_messaging_notifications]\ntopics = t2\nretry = 2\n"};
  Config config = load({first, second});
  EXPECT_EQ(config.topics, std::vector<std::string>{"t2"});
  EXPECT_EQ(config.retry, 2);
  EXPECT_EQ(config.control_exchange, "one");  // not overridden by the second file

  ConfigSources sources;
  sources.environment = {{"OS_OSLO_MESSAGING_NOTIFICATIONS__TOPICS", "t3"},
                         {"OS_DEFAULT__CONTROL_EXCHANGE", "three"},
                         {"OS_AUTH_URL", "http://keystone/"},  // not an oslo.config variable
                         {"OS_NOVA__SOMETHING", "1"},          // another group: ignored
                         {"OS_DEFAULT__DEBUG", "true"}};       // DEFAULT: only Herald's options
  config = load({first, second}, sources);
  EXPECT_EQ(config.topics, std::vector<std::string>{"t3"});
  EXPECT_EQ(config.control_exchange, "three");
  EXPECT_EQ(config.retry, 2);
  EXPECT_TRUE(config.ignored.empty());

  sources.overrides = {{"oslo_messaging_notifications", "topics", "t4,t5", "--topic"}};
  config = load({first, second}, sources);
  EXPECT_EQ(config.topics, (std::vector<std::string>{"t4", "t5"}));
  bool shown = false;
  for (const ConfigEntry& e : config.entries)
    if (e.option == "topics") shown = e.origin.to_string() == "--topic" && e.value == "t4,t5";
  EXPECT_TRUE(shown);
}

TEST(ConfigLoad, ApplicationDefaultsAreTheLowestLayer) {
  ConfigSources sources;
  sources.defaults = {{"DEFAULT", "transport_url", "memory://", "default (herald CLI)"}};
  EXPECT_EQ(load({}, sources).transport_url, "memory:///");
  EXPECT_EQ(load({{"f", "[DEFAULT]\ntransport_url = amqp://u:p@h/\n"}}, sources).transport_url, "amqp://u:p@h/");
}

TEST(ConfigLoad, NotificationsTransportUrlFallsBackToDefault) {
  Config config = load({{"f",
                         "[DEFAULT]\ntransport_url = amqp://u:p@rpc/\n"
                         "[oslo_messaging_notifications]\ntransport_url = amqp://u:p@notify/\n"}});
  EXPECT_EQ(config.transport_url, "amqp://u:p@notify/");
  config = load({{"f", "[DEFAULT]\ntransport_url = amqp://u:p@rpc/\n"}});
  EXPECT_EQ(config.transport_url, "amqp://u:p@rpc/");
}

TEST(ConfigLoad, BadValueNamesFileLineAndOption) {
  std::string what =
      load_error({{"/etc/herald/herald.conf", "[oslo_messaging_rabbit]\n# x\nheartbeat_timeout_threshold = soon\n"}});
  EXPECT_NE(what.find("/etc/herald/herald.conf:3"), std::string::npos) << what;
  EXPECT_NE(what.find("[oslo_messaging_rabbit] heartbeat_timeout_threshold"), std::string::npos) << what;
  EXPECT_NE(what.find("'soon'"), std::string::npos) << what;

  what = load_error({{"a.conf", "[oslo_messaging_rabbit]\nssl = maybe\n"}});
  EXPECT_NE(what.find("a.conf:2: [oslo_messaging_rabbit] ssl: bad value 'maybe'"), std::string::npos) << what;
  what = load_error({{"a.conf", "[oslo_messaging_notifications]\nretry = -2\n"}});
  EXPECT_NE(what.find("a.conf:2: [oslo_messaging_notifications] retry"), std::string::npos) << what;
  what = load_error({{"a.conf", "[oslo_messaging_notifications]\ndriver = kafka\n"}});
  EXPECT_NE(what.find("a.conf:2: [oslo_messaging_notifications] driver: unknown driver 'kafka'"), std::string::npos)
      << what;
  what = load_error({{"a.conf", "[oslo_messaging_notifications]\ntopics = ,\n"}});
  EXPECT_NE(what.find("needs at least one topic"), std::string::npos) << what;
}

TEST(ConfigLoad, BadValuesFromTheEnvironmentAndFlagsNameTheirSource) {
  ConfigSources sources;
  sources.environment = {{"OS_OSLO_MESSAGING_RABBIT__AMQP_DURABLE_QUEUES", "sure"}};
  EXPECT_NE(load_error({}, sources)
                .find("OS_OSLO_MESSAGING_RABBIT__AMQP_DURABLE_QUEUES: [oslo_messaging_rabbit] "
                      "amqp_durable_queues: bad value 'sure'"),
            std::string::npos);
  sources.environment.clear();
  sources.overrides = {{"oslo_messaging_notifications", "retry", "x", "--retry"}};
  EXPECT_NE(load_error({}, sources).find("--retry: [oslo_messaging_notifications] retry"), std::string::npos);
}

TEST(ConfigLoad, BadTransportUrlNamesTheLineAndMasksThePassword) {
  std::string what = load_error({{"a.conf", "[DEFAULT]\n\ntransport_url = amqp://nova:hunter2@h:99999/\n"}});
  EXPECT_NE(what.find("a.conf:3: [DEFAULT] transport_url"), std::string::npos) << what;
  EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
}

TEST(ConfigLoad, BooleansInEveryOsloSpelling) {
  for (const char* yes : {"true", "True", "1", "yes", "on", "ON"}) {
    Config config = load({{"f", std::string("[oslo_messaging_rabbit]\namqp_durable_queues = ") + yes + "\n"}});
    EXPECT_EQ(config.transport_url, "amqp://guest:guest@localhost:5672/?amqp_durable_queues=true") << yes;
  }
  for (const char* no : {"false", "FALSE", "0", "no", "off"}) {
    Config config = load({{"f", std::string("[oslo_messaging_rabbit]\namqp_durable_queues = ") + no + "\n"}});
    EXPECT_EQ(config.transport_url, "amqp://guest:guest@localhost:5672/?amqp_durable_queues=false") << no;
  }
}

TEST(ConfigLoad, UnknownAndUnimplementedOptionsAreListedOnce) {
  const ConfigText first{"a.conf",
                         "[oslo_messaging_rabbit]\nrabbit_ha_queues = true\nnot_an_option = 1\n"
                         "[oslo_messaging_notifications]\ntopic = typo\n"};
  const ConfigText second{"b.conf", "[oslo_messaging_rabbit]\nrabbit_ha_queues = false\n"};
  Config config = load({first, second});
  ASSERT_EQ(config.ignored.size(), 3u);
  EXPECT_EQ(config.ignored[0].option, "rabbit_ha_queues");
  EXPECT_EQ(config.ignored[0].origin.to_string(), "b.conf:2");  // where it was set last
  EXPECT_NE(config.ignored[0].reason.find("mirrored"), std::string::npos);
  EXPECT_EQ(config.ignored[1].option, "not_an_option");
  EXPECT_EQ(config.ignored[1].reason, "unknown option");
  EXPECT_EQ(config.ignored[2].group, "oslo_messaging_notifications");
  EXPECT_EQ(config.ignored[2].option, "topic");
  const std::string summary = config.ignored_summary();
  EXPECT_NE(summary.find("3 option(s)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("[oslo_messaging_rabbit] rabbit_ha_queues (b.conf:2"), std::string::npos) << summary;
}

TEST(ConfigLoad, ContinuationLinesInAList) {
  Config config =
      load({{"f", "[oslo_messaging_notifications]\ntopics = notifications,\n    versioned_notifications\n"}});
  EXPECT_EQ(config.topics, (std::vector<std::string>{"notifications", "versioned_notifications"}));
}

TEST(ConfigLoad, DriverIsMultiValuedAcrossFiles) {
  Config config = load({{"a", "[oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\n"},
                        {"b", "[oslo_messaging_notifications]\ndriver = messagingv2\n"}});
  EXPECT_EQ(config.drivers, (std::vector<std::string>{"messagingv2", "log"}));  // duplicates once
  ConfigSources sources;
  sources.environment = {{"OS_OSLO_MESSAGING_NOTIFICATIONS__DRIVER", "noop"}};
  config = load({{"a", "[oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\n"}}, sources);
  EXPECT_EQ(config.drivers, std::vector<std::string>{"noop"});
}

TEST(ConfigLoad, DeprecatedDefaultAliases) {
  Config config = load({{"f", "[DEFAULT]\nnotification_driver = messaging\nnotification_topics = old\n"}});
  EXPECT_EQ(config.drivers, std::vector<std::string>{"messaging"});
  EXPECT_EQ(config.topics, std::vector<std::string>{"old"});
}

TEST(ConfigLoad, DollarSubstitution) {
  Config config = load({{"f",
                         "[DEFAULT]\nmy_ip = 10.0.0.5\nrabbit_password = pa$$word\n"
                         "transport_url = rabbit://nova:${rabbit_password}@$my_ip:5672/\n"
                         "control_exchange = ${oslo_messaging_notifications.topics}\n"
                         "[oslo_messaging_notifications]\ntopics = nova\n"}});
  EXPECT_EQ(config.transport_url, "amqp://nova:pa%24word@10.0.0.5:5672/");
  EXPECT_EQ(config.control_exchange, "nova");

  std::string what = load_error({{"f", "[DEFAULT]\ncontrol_exchange = $nothing_here\n"}});
  EXPECT_NE(what.find("f:2: [DEFAULT] control_exchange: unknown variable '$nothing_here'"), std::string::npos) << what;
  what = load_error({{"f", "[DEFAULT]\ncontrol_exchange = 5$\n"}});
  EXPECT_NE(what.find("write $$ for a literal $"), std::string::npos) << what;
  what = load_error({{"f", "[DEFAULT]\na = $b\nb = $a\ncontrol_exchange = $a\n"}});
  EXPECT_NE(what.find("nests too deep"), std::string::npos) << what;
}

TEST(ConfigLoad, FlagsAreNotSubstituted) {
  ConfigSources sources;
  sources.overrides = {{"DEFAULT", "transport_url", "amqp://u:pa$x@h/", "--url"}};
  EXPECT_EQ(load({}, sources).transport_url, "amqp://u:pa%24x@h/");
}

TEST(ConfigLoad, SecretsAreMaskedForDisplay) {
  ConfigSources sources;
  sources.overrides = {{"herald", "ssl_key_password", "kp-secret", "--x"}};
  Config config = load({{"f", "[DEFAULT]\ntransport_url = rabbit://nova:hunter2@ctl:5672/\n"}}, sources);
  EXPECT_NE(config.transport_url.find("hunter2"), std::string::npos);  // what the transport needs
  EXPECT_NE(config.transport_url.find("kp-secret"), std::string::npos);
  const std::string masked = config.masked_transport_url();
  EXPECT_EQ(masked, "amqp://nova:****@ctl:5672/?ssl_key_password=****");
  const std::string shown = config.describe();
  EXPECT_EQ(shown.find("hunter2"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("kp-secret"), std::string::npos) << shown;
  EXPECT_NE(shown.find("transport_url = amqp://nova:****@ctl:5672/  # f:2"), std::string::npos) << shown;
}

TEST(ConfigLoad, NovaConfStyleFileWorksUnchanged) {
  const std::string nova = R"([DEFAULT]
debug = False
my_ip = 192.0.2.10
# the message bus
transport_url = rabbit://nova:s3cret@$my_ip:5672,nova:s3cret@192.0.2.11:5672/
control_exchange = nova
enabled_apis = osapi_compute,metadata
instances_path = /var/lib/nova/instances
rpc_response_timeout = 120

[api]
auth_strategy = keystone

[database]
connection = mysql+pymysql://nova:dbpass@192.0.2.10/nova

[keystone_authtoken]
www_authenticate_uri = http://192.0.2.10:5000/
auth_type = password
password = keystonepass
memcached_servers = 192.0.2.10:11211

[oslo_concurrency]
lock_path = /var/lib/nova/tmp

[oslo_messaging_notifications]
driver = messagingv2
topics = notifications,
  versioned_notifications

[oslo_messaging_rabbit]
amqp_durable_queues = true
heartbeat_timeout_threshold = 30
kombu_reconnect_delay = 0.5
rabbit_ha_queues = true
rabbit_qos_prefetch_count = 64

[placement]
region_name = RegionOne
password = placementpass

[vnc]
enabled = true
server_listen = $my_ip
)";
  Config config = load({{"/etc/nova/nova.conf", nova}});
  EXPECT_EQ(config.transport_url,
            "amqp://nova:s3cret@192.0.2.10:5672,nova:s3cret@192.0.2.11:5672/"
            "?amqp_durable_queues=true&idle_timeout=30&reconnect_delay=0.5");
  EXPECT_EQ(config.control_exchange, "nova");
  EXPECT_EQ(config.drivers, std::vector<std::string>{"messagingv2"});
  EXPECT_EQ(config.topics, (std::vector<std::string>{"notifications", "versioned_notifications"}));
  EXPECT_EQ(config.server_options().credit_window, 64u);
  ASSERT_EQ(config.ignored.size(), 1u) << config.ignored_summary();
  EXPECT_EQ(config.ignored[0].option, "rabbit_ha_queues");
  EXPECT_EQ(config.ignored[0].origin.to_string(), "/etc/nova/nova.conf:35");
  EXPECT_EQ(config.describe().find("s3cret"), std::string::npos);
}

TEST(ConfigLoad, ReadsFilesAndReportsAMissingOne) {
  char path[] = "/tmp/herald-config-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "[oslo_messaging_notifications]\ntopics = from_file\n";
  ConfigSources sources;
  sources.files = {path};
  EXPECT_EQ(Config::load(sources).topics, std::vector<std::string>{"from_file"});
  std::remove(path);
  try {
    Config::load(sources);
    ADD_FAILURE() << "a missing file must fail";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(ConfigLoad, OptionStructs) {
  Config config = load({{"f",
                         "[DEFAULT]\ncontrol_exchange = nova\nexecutor_thread_pool_size = 3\n"
                         "[oslo_messaging_notifications]\ndriver = log\nretry = 0\n[herald]\nsend_timeout = 2.5\n"}});
  EXPECT_EQ(config.transport_options().control_exchange, "nova");
  EXPECT_EQ(config.transport_options().send_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config.notifier_options().drivers, std::vector<std::string>{"log"});
  EXPECT_EQ(config.notifier_options().retry, 0);
  EXPECT_EQ(config.server_options().workers, 3u);
}

}  // namespace
}  // namespace herald
