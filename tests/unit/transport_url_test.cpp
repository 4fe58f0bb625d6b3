// TransportUrl parsing, vhost rules, masking of passwords.

#include <herald/error.hpp>
#include <herald/transport_url.hpp>

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace {

// The error parsing `url` raised; empty when it parsed.
std::error_code parse_error(const std::string& url, std::string* what = nullptr) {
  try {
    TransportUrl::parse(url);
  } catch (const ConfigError& error) {
    if (what) *what = error.what();
    return error.code();
  }
  return {};
}

TEST(TransportUrl, SingleHostWithCredentials) {
  const TransportUrl url = TransportUrl::parse("amqp://user:pass@broker.example:5672/");
  EXPECT_EQ(url.scheme(), "amqp");
  ASSERT_EQ(url.hosts().size(), 1u);
  EXPECT_EQ(url.hosts()[0].hostname, "broker.example");
  EXPECT_EQ(url.hosts()[0].port, 5672);
  EXPECT_EQ(url.hosts()[0].username, "user");
  EXPECT_EQ(url.hosts()[0].password, "pass");
  EXPECT_EQ(url.virtual_host(), "");
}

TEST(TransportUrl, MultiHostFailoverList) {
  const TransportUrl url = TransportUrl::parse("amqps://a:1@h1:5671,b@h2,h3:5673/vh");
  ASSERT_EQ(url.hosts().size(), 3u);
  EXPECT_EQ(url.hosts()[0].username, "a");
  EXPECT_EQ(url.hosts()[0].password, "1");
  EXPECT_EQ(url.hosts()[0].port, 5671);
  EXPECT_EQ(url.hosts()[1].hostname, "h2");
  EXPECT_EQ(url.hosts()[1].username, "b");
  EXPECT_EQ(url.hosts()[1].password, "");
  EXPECT_EQ(url.hosts()[1].port, 0);  // driver default
  EXPECT_EQ(url.hosts()[2].hostname, "h3");
  EXPECT_EQ(url.hosts()[2].port, 5673);
  EXPECT_EQ(url.virtual_host(), "vh");
}

TEST(TransportUrl, PercentDecodedCredentials) {
  const TransportUrl url = TransportUrl::parse("amqp://us%40er%3A:p%40ss%2Fw%3Ard@host/");
  EXPECT_EQ(url.hosts()[0].username, "us@er:");
  EXPECT_EQ(url.hosts()[0].password, "p@ss/w:rd");
}

TEST(TransportUrl, UsernameMayContainAtSign) {
  const TransportUrl url = TransportUrl::parse("amqp://me@corp:secret@host:5672/");  // rsplit on the last '@'
  EXPECT_EQ(url.hosts()[0].username, "me@corp");
  EXPECT_EQ(url.hosts()[0].password, "secret");
  EXPECT_EQ(url.hosts()[0].hostname, "host");
}

TEST(TransportUrl, Ipv6Hosts) {
  const TransportUrl url = TransportUrl::parse("amqp://u:p@[::1]:5674,[fe80::1]/");
  ASSERT_EQ(url.hosts().size(), 2u);
  EXPECT_EQ(url.hosts()[0].hostname, "::1");
  EXPECT_EQ(url.hosts()[0].port, 5674);
  EXPECT_EQ(url.hosts()[1].hostname, "fe80::1");
  EXPECT_EQ(url.hosts()[1].port, 0);
  EXPECT_EQ(url.to_string(), "amqp://u:****@[::1]:5674,[fe80::1]/");
  EXPECT_EQ(parse_error("amqp://[::1/"), Errc::invalid_url);
  EXPECT_EQ(parse_error("amqp://[::1]x/"), Errc::invalid_url);
}

TEST(TransportUrl, VirtualHostRules) {
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672/").virtual_host(), "");
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672").virtual_host(), "");
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672//").virtual_host(), "/");
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672/%2F").virtual_host(), "/");
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672/%2f").virtual_host(), "/");
  EXPECT_EQ(TransportUrl::parse("amqp://h:5672/vh/sub").virtual_host(), "vh/sub");
  EXPECT_EQ(TransportUrl::parse("amqp://h/my%20vhost").virtual_host(), "my vhost");
}

TEST(TransportUrl, QueryOptions) {
  const TransportUrl url = TransportUrl::parse("amqp://h/vh?idle_timeout=30&name=a%20b&flag&x=1&x=2");
  EXPECT_EQ(url.virtual_host(), "vh");
  EXPECT_EQ(url.option("idle_timeout"), "30");
  EXPECT_EQ(url.option("name"), "a b");
  EXPECT_EQ(url.option("flag"), "");
  EXPECT_EQ(url.option("x"), "2");  // repeated keys: last wins
  EXPECT_EQ(url.option("missing", "dflt"), "dflt");
  EXPECT_EQ(url.options().size(), 4u);
  EXPECT_EQ(TransportUrl::parse("amqp://h?a=1").option("a"), "1");  // query without a path
  EXPECT_EQ(parse_error("amqp://h/?=v"), Errc::invalid_url);
}

TEST(TransportUrl, EmptyPortMeansDefault) {
  // As Python's urllib: "host:" has no port.
  EXPECT_EQ(TransportUrl::parse("amqp://h:/x").hosts()[0].port, 0);
}

TEST(TransportUrl, MemoryScheme) {
  const TransportUrl url = TransportUrl::parse("memory://");
  EXPECT_EQ(url.scheme(), "memory");
  EXPECT_TRUE(url.hosts().empty());
  EXPECT_EQ(TransportUrl::parse("memory:///bus1").virtual_host(), "bus1");
}

TEST(TransportUrl, Rejections) {
  for (const char* url :
       {"kafka://h/", "AMQP://h/", "amqp:/h", "h:5672", "", "amqp://", "amqp:///vh", "amqp://h:0/", "amqp://h:65536/",
        "amqp://h:-1/", "amqp://h:56x/", "amqp://:5672/", "amqp://h1,,h2/", "amqp://h/%zz", "amqp://h/%2"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(parse_error(url), Errc::invalid_url);
  }
}

TEST(TransportUrl, ErrorsNameTheProblem) {
  std::string what;
  EXPECT_EQ(parse_error("amqp://h:99999/", &what), Errc::invalid_url);
  EXPECT_NE(what.find("bad port"), std::string::npos) << what;
  EXPECT_EQ(parse_error("kafka://h/", &what), Errc::invalid_url);
  EXPECT_NE(what.find("unknown scheme 'kafka'"), std::string::npos) << what;
}

TEST(TransportUrl, PasswordMaskedInToString) {
  const TransportUrl url = TransportUrl::parse("amqp://user:hunter2@h1:5672,other:s3cr3t@h2/vh?a=b");
  const std::string text = url.to_string();
  EXPECT_EQ(text, "amqp://user:****@h1:5672,other:****@h2/vh?a=b");
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
}

TEST(TransportUrl, RabbitSchemeIsAmqpToRabbitMQ) {
  const TransportUrl url = TransportUrl::parse("rabbit://nova:pw@ctl1:5672,ctl2/vh");
  EXPECT_EQ(url.scheme(), "amqp");
  ASSERT_EQ(url.hosts().size(), 2u);
  EXPECT_EQ(url.hosts()[0].username, "nova");
  EXPECT_EQ(url.hosts()[1].username, "guest");  // oslo: no credentials means guest:guest
  EXPECT_EQ(url.hosts()[1].password, "guest");
  EXPECT_EQ(url.virtual_host(), "vh");
}

TEST(TransportUrl, BareRabbitIsGuestOnLocalhost) {
  const TransportUrl url = TransportUrl::parse("rabbit://");
  ASSERT_EQ(url.hosts().size(), 1u);
  EXPECT_EQ(url.hosts()[0].hostname, "localhost");
  EXPECT_EQ(url.hosts()[0].port, 5672);
  EXPECT_EQ(url.hosts()[0].username, "guest");
}

TEST(TransportUrl, SecretQueryOptionsMaskedInToString) {
  const TransportUrl url = TransportUrl::parse("amqps://u:p@h/?ssl_key_password=pw1&in_flight_window=5");
  EXPECT_EQ(url.to_string(), "amqps://u:****@h/?in_flight_window=5&ssl_key_password=****");
}

TEST(TransportUrl, PasswordMaskedInErrors) {
  for (const char* url :
       {"amqp://user:hunter2@h1:bad/", "amqp://user:hunter2@h1,u2:hunter2@h2:0/", "amqp://user:hunter2@h1/%zz",
        "amqp://user:hunter2@[::1/", "amqp://user:hunt%zzer2@h/", "rabbit://user:hunter2@h:bad/"}) {
    std::string what;
    EXPECT_EQ(parse_error(url, &what), Errc::invalid_url) << url;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunt"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace herald
