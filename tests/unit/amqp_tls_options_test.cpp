// TLS options of amqps:// (issue 10 item 2) and how a failed handshake is explained, without a
// broker. tests/integration/tls_test.cpp proves them against RabbitMQ.

#include "transports/amqp/amqp_options.hpp"
#include "transports/amqp/management_http.hpp"
#include "transports/amqp/topology.hpp"

#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace herald::detail {
namespace {

namespace fs = std::filesystem;

AmqpOptions parse(const std::string& url) { return parse_amqp_options(TransportUrl::parse(url), {}); }

std::string config_error(const std::string& url) {
  try {
    parse(url);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

struct TempFile {
  fs::path path = fs::temp_directory_path() / ("herald-tls-options-" + std::to_string(::getpid()) + ".pem");
  TempFile() { std::ofstream(path) << "not checked at parse time\n"; }
  ~TempFile() { fs::remove(path); }
};

TEST(AmqpTlsOptions, ClientCertificateAndKeyAreTaken) {
  TempFile file;
  AmqpOptions o = parse("amqps://h/?ssl_cert_file=" + file.path.string() + "&ssl_key_file=" + file.path.string() +
                        "&ssl_ca_file=" + file.path.string());
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.ssl_cert_file, file.path.string());
  EXPECT_EQ(o.ssl_key_file, file.path.string());
  EXPECT_EQ(o.hosts.front().port, 5671);
  EXPECT_EQ(o.management_port, 15671) << "HTTPS management on the AMQPS port + 10000, as RabbitMQ's 15671";
}

TEST(AmqpTlsOptions, FileOptionsNeedAmqpsAndEachOther) {
  TempFile file;
  EXPECT_NE(config_error("amqp://h/?ssl_cert_file=" + file.path.string()).find("'ssl_cert_file' needs the amqps://"),
            std::string::npos);
  EXPECT_NE(config_error("amqps://h/?ssl_cert_file=" + file.path.string()).find("go together"), std::string::npos);
  EXPECT_NE(config_error("amqps://h/?ssl_key_file=" + file.path.string()).find("go together"), std::string::npos);
}

TEST(AmqpTlsOptions, AFileThatCannotBeReadFailsAtOpenNamingTheOption) {
  std::string error = config_error("amqps://h/?ssl_ca_file=/nonexistent/ca.pem");
  EXPECT_NE(error.find("'ssl_ca_file'"), std::string::npos) << error;
  EXPECT_NE(error.find("/nonexistent/ca.pem"), std::string::npos) << error;
}

TEST(AmqpTlsOptions, ManagementEndpointsUseHttpsWithTheSameFiles) {
  TempFile file;
  AmqpOptions o = parse("amqps://u:p@h1:6000,u:p@h2:6001/?ssl_ca_file=" + file.path.string() + "&ssl_verify=false");
  auto endpoints = management_endpoints(o);
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_TRUE(endpoints[0].tls.enabled);
  EXPECT_EQ(endpoints[0].tls.ca_file, file.path.string());
  EXPECT_FALSE(endpoints[0].tls.verify);
  EXPECT_EQ(endpoints[1].port, 16001);
  EXPECT_EQ(endpoints[1].where(), "https://h2:16001");
  EXPECT_FALSE(management_endpoints(parse("amqp://h/"))[0].tls.enabled);
}

TEST(AmqpTlsFailure, VerificationFailureNamesTheTrustStoreAndTheHost) {
  const std::string proton =
      "amqp:connection:framing-error: SSL Failure: error:0A000086:SSL routines::certificate verify failed";
  std::string text = explain_tls_failure(proton, "broker.example", "/etc/herald/ca.pem");
  EXPECT_EQ(text.rfind("TLS: certificate verification failed", 0), 0u) << text;
  EXPECT_NE(text.find("ssl_ca_file '/etc/herald/ca.pem'"), std::string::npos) << text;
  EXPECT_NE(text.find("host 'broker.example'"), std::string::npos) << text;
  EXPECT_NE(text.find("error:0A000086"), std::string::npos) << "OpenSSL's own words are kept: " << text;
  EXPECT_NE(explain_tls_failure(proton, "h", "").find("the system's trust store"), std::string::npos);
}

TEST(AmqpTlsFailure, ARefusedClientCertificateAndOtherFailuresAreTold) {
  EXPECT_NE(explain_tls_failure("amqp:connection:framing-error: SSL Failure: error:0A000418:SSL routines::tlsv1 "
                                "alert unknown ca",
                                "h", "")
                .find("the broker refused the client certificate"),
            std::string::npos);
  std::string other = explain_tls_failure(
      "amqp:connection:framing-error: SSL Failure: error:0A00010B:SSL "
      "routines::wrong version number",
      "h", "");
  EXPECT_EQ(other.rfind("TLS: handshake failed (SSL Failure", 0), 0u) << other;
}

// An AMQP port above 55535 has no default management port (port + 10000). That used to refuse
// the URL even where the management API is never used (topology=none, RabbitMQ 4); now only a
// use of the API fails, naming the option to set. (A listener on an ephemeral port made a CLI
// test fail whenever the kernel picked a port above 55535.)
TEST(AmqpManagementPort, AnAmqpPortAbove55535IsRefusedOnlyWhereTheManagementApiIsUsed) {
  AmqpOptions o;
  ASSERT_NO_THROW(o = parse("amqp://h:60000/?topology=none"));
  EXPECT_EQ(o.management_port, 0);
  std::vector<ManagementEndpoint> endpoints = management_endpoints(o);
  ASSERT_EQ(endpoints.size(), 1u);
  HttpResponse response = management_call(endpoints[0], "GET", "/api/overview", "", std::chrono::seconds(1), 1024);
  EXPECT_FALSE(response.reached);
  EXPECT_NE(response.body.find("set 'management_port'"), std::string::npos) << response.body;
  for (const ManagementEndpoint& endpoint : management_endpoints(parse("amqp://h1:60000,h2:60001/")))
    EXPECT_EQ(endpoint.port, 0) << endpoint.host << ": no management port to derive for any host";
  EXPECT_EQ(parse("amqp://h:60000/?management_port=15672").management_port, 15672);
  EXPECT_EQ(parse("amqp://h:5672/").management_port, 15672);
}

}  // namespace
}  // namespace herald::detail
