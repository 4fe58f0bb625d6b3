// Issue 10 item 2: TLS against the private broker, whose test CA scripts/rabbitmq made in
// $RMQ_DIR/tls (AMQPS on RMQ_PORT+1000, management HTTPS on RMQ_PORT+11000). A valid CA connects
// (declarations over HTTPS on 3.x, over AMQP management on 4.x); a CA the test makes itself fails
// within 5 s saying certificate verification failed; a host name the certificate does not name
// fails; a client certificate signed by the broker's CA logs in with SASL EXTERNAL as its CN.
#include "tests/integration/fault_support.hpp"
#include "tests/support/test_url_options.hpp"

#include <herald/error.hpp>
#include <herald/transport.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

namespace herald::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

int tls_port() { return broker_port() + 1000; }

// The broker's state directory, as scripts/rabbitmq computes it.
fs::path broker_tls_dir() {
  if (const char* dir = std::getenv("RMQ_DIR"); dir && *dir) return fs::path(dir) / "tls";
  const char* tmp = std::getenv("TMPDIR");
  return fs::path(tmp && *tmp ? tmp : "/tmp") / ("rmq-" + std::to_string(broker_port())) / "tls";
}

// A scratch directory for the certificates a test makes.
struct ScratchDir {
  fs::path path = fs::temp_directory_path() / unique_name("tls");
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

void openssl(const std::string& args) {
  CommandResult result = run_command("openssl " + args + " 2>&1");
  ASSERT_EQ(result.status, 0) << "openssl " << args << ":\n" << result.output;
}

// A CA of the test's own (the broker does not trust it, nor it the broker).
void make_ca(const fs::path& dir, const std::string& name) {
  openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" + name + "' -keyout " + (dir / "ca.key").string() +
          " -out " + (dir / "ca.pem").string());
}

// A client certificate with CN `cn`, signed by the CA in `ca_dir`.
void make_client_cert(const fs::path& dir, const fs::path& ca_dir, const std::string& cn) {
  openssl("req -newkey rsa:2048 -nodes -subj '/CN=" + cn + "' -keyout " + (dir / "client.key").string() + " -out " +
          (dir / "client.csr").string());
  std::string ext = (dir / "client.ext").string();
  ASSERT_EQ(run_command("echo extendedKeyUsage=clientAuth > " + ext).status, 0);
  openssl("x509 -req -days 2 -in " + (dir / "client.csr").string() + " -CA " + (ca_dir / "ca.pem").string() +
          " -CAkey " + (ca_dir / "ca.key").string() + " -CAcreateserial -CAserial " + (dir / "ca.srl").string() +
          " -extfile " + ext + " -out " + (dir / "client.pem").string());
}

std::string amqps_url(const std::string& userinfo, const std::string& host, const std::string& query) {
  return with_test_options("amqps://" + userinfo + host + ":" + std::to_string(tls_port()) + "/?" + query);
}

// Waits until the transport reports failed; returns the seconds it took (or -1).
double seconds_until_failed(Transport& transport, std::chrono::seconds limit) {
  auto started = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - started < limit) {
    if (transport.status().state == TransportState::failed)
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::this_thread::sleep_for(20ms);
  }
  return -1;
}

class AmqpTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = broker_tls_dir() / "ca.pem";
    ASSERT_TRUE(fs::exists(ca_)) << ca_
                                 << " is missing: start the broker with scripts/rabbitmq (RMQ_TLS=1, the default)";
    ASSERT_TRUE(port_open(tls_port())) << "no AMQPS listener on " << tls_port();
  }
  // Over AMQPS with the broker's CA and the client certificate made in `dir`, no user in the
  // URL (SASL EXTERNAL), logging into `log`.
  std::shared_ptr<Transport> open_with_client_certificate(const fs::path& dir, const CapturedLog& log) const {
    TransportOptions options;
    options.logger = log.logger;
    return Transport::open(
        amqps_url("", "localhost",
                  "topology=none&ssl_ca_file=" + ca_.string() + "&ssl_cert_file=" + (dir / "client.pem").string() +
                      "&ssl_key_file=" + (dir / "client.key").string()),
        options);
  }
  fs::path ca_;
};

TEST_F(AmqpTls, ValidCaConnectsDeclaresAndConfirms) {
  BrokerObjects objects;
  const std::string exchange = objects.exchange(unique_name("x"));
  const std::string key = objects.queue(unique_name("tls") + ".info");
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  // Declarations run as usual: over HTTPS to the management API on 3.x (the URL's scheme says
  // TLS; its port is the AMQPS port + 10000), over AMQP management on 4.x.
  auto transport = Transport::open(amqps_url("guest:guest@", "localhost", "ssl_ca_file=" + ca_.string()), options);
  SendTracker sent;
  for (int i = 0; i < 10; ++i)
    transport->driver().send(message(exchange, key, "tls " + std::to_string(i)), sent.callback());
  ASSERT_TRUE(sent.wait(10, 20s)) << transport->status().reason << "\n" << log.text();
  EXPECT_EQ(sent.ok(), 10u) << sent.last_error().message() << ": " << sent.last_reason() << "\n" << log.text();
  transport.reset();
  auto queues = list_queues();
  ASSERT_TRUE(queues.count(key)) << "the queue was not declared";
  EXPECT_EQ(queues[key].ready, 10u);
  std::cout << "[ tls ] valid CA: 10 of 10 confirmed and queued over amqps://localhost:" << tls_port() << "\n";
}

TEST_F(AmqpTls, WrongCaFailsWithinFiveSecondsSayingCertificateVerificationFailed) {
  ScratchDir scratch;
  make_ca(scratch.path, "Not the broker CA");
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  auto transport = Transport::open(
      amqps_url("guest:guest@", "localhost", "topology=none&ssl_ca_file=" + (scratch.path / "ca.pem").string()),
      options);
  double took = seconds_until_failed(*transport, 10s);
  TransportStatus status = transport->status();
  std::cout << "[ tls ] wrong CA: failed after " << took << " s: " << status.reason << "\n";
  ASSERT_GE(took, 0) << "still " << static_cast<int>(status.state) << " after 10 s: " << status.reason;
  EXPECT_LE(took, 5.0);
  EXPECT_NE(status.reason.find("certificate verification failed"), std::string::npos) << status.reason;
  try {
    transport->driver().listen({{{"notifications.info", "openstack", "notifications.info"}}, 10});
    ADD_FAILURE() << "listen() over an unverified connection must fail";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.code(), make_error_code(Errc::tls_failed)) << e.what();
    EXPECT_NE(std::string(e.what()).find("certificate verification failed"), std::string::npos) << e.what();
  }
  EXPECT_LE(log.count("connecting to"), 2u) << "a TLS failure is not retried at once:\n" << log.text();
}

TEST_F(AmqpTls, HostNameTheCertificateDoesNotNameFails) {
  // The broker's certificate names DNS:localhost only.
  CapturedLog log;
  TransportOptions options;
  options.logger = log.logger;
  auto transport =
      Transport::open(amqps_url("guest:guest@", "127.0.0.1", "topology=none&ssl_ca_file=" + ca_.string()), options);
  double took = seconds_until_failed(*transport, 10s);
  TransportStatus status = transport->status();
  std::cout << "[ tls ] host name mismatch: failed after " << took << " s: " << status.reason << "\n";
  ASSERT_GE(took, 0) << status.reason;
  EXPECT_LE(took, 5.0);
  EXPECT_NE(status.reason.find("certificate verification failed"), std::string::npos) << status.reason;
  EXPECT_NE(status.reason.find("host '127.0.0.1'"), std::string::npos) << status.reason;
}

TEST_F(AmqpTls, ClientCertificateLogsInWithSaslExternalAsItsCommonName) {
  ScratchDir scratch;
  const std::string user = unique_name("tls-client");
  make_client_cert(scratch.path, ca_.parent_path(), user);
  ASSERT_EQ(broker_ctl("add_user '" + user + "' '" + unique_name("unused-password") + "'").status, 0);
  ASSERT_EQ(broker_ctl("set_permissions -p / '" + user + "' '.*' '.*' '.*'").status, 0);
  BrokerObjects objects;
  const std::string key = objects.queue(unique_name("tls-external") + ".info");
  ASSERT_LT(declare_queue(key, test_options_declare_durable()), 300);
  ASSERT_LT(bind_queue("amq.topic", key, key), 300);
  CapturedLog log;
  // No user in the URL: the certificate is the identity (SASL EXTERNAL).
  auto transport = open_with_client_certificate(scratch.path, log);
  SendTracker sent;
  transport->driver().send(message("amq.topic", key, "external"), sent.callback());
  ASSERT_TRUE(sent.wait(1, 20s)) << transport->status().reason << "\n" << log.text();
  EXPECT_EQ(sent.ok(), 1u) << sent.last_reason() << "\n" << log.text();
  // The broker's view of who is connected (the management API's statistics lag a few seconds).
  bool seen_as_user = false;
  for (int i = 0; i < 100 && !seen_as_user; ++i) {
    HttpResult connections = management_http("GET", "/api/connections?columns=user");
    seen_as_user = connections.body.find("\"user\":\"" + user + "\"") != std::string::npos;
    if (!seen_as_user) std::this_thread::sleep_for(200ms);
  }
  transport.reset();
  broker_ctl("delete_user '" + user + "'");
  std::cout << "[ tls ] client certificate: " << sent.ok() << " confirmed; connected as " << user << ": "
            << (seen_as_user ? "yes" : "no") << "\n";
  EXPECT_TRUE(seen_as_user) << "the broker must list the connection as the certificate's CN";
  EXPECT_EQ(list_queues()[key].ready, 1u);
}

TEST_F(AmqpTls, ClientCertificateOfAnUnknownUserIsRefused) {
  ScratchDir scratch;
  make_client_cert(scratch.path, ca_.parent_path(), unique_name("nobody"));  // no such broker user
  CapturedLog log;
  auto transport = open_with_client_certificate(scratch.path, log);
  // RabbitMQ 3.10 holds back a failed SASL outcome for ~3 s.
  double took = seconds_until_failed(*transport, 10s);
  TransportStatus status = transport->status();
  std::cout << "[ tls ] client certificate of an unknown user: failed after " << took << " s: " << status.reason
            << "\n";
  ASSERT_GE(took, 0) << status.reason;
  EXPECT_NE(status.reason.find("authentication failed"), std::string::npos) << status.reason;
}

TEST_F(AmqpTls, ClientCertificateOfAnotherCaIsRefusedByTheBroker) {
  ScratchDir scratch;
  make_ca(scratch.path, "Another CA");
  make_client_cert(scratch.path, scratch.path, unique_name("stranger"));
  CapturedLog log;
  auto transport = open_with_client_certificate(scratch.path, log);
  double took = seconds_until_failed(*transport, 10s);
  TransportStatus status = transport->status();
  std::cout << "[ tls ] client certificate of another CA: failed after " << took << " s: " << status.reason << "\n";
  ASSERT_GE(took, 0) << status.reason;
  EXPECT_LE(took, 5.0);
  EXPECT_NE(status.reason.find("the broker refused the client certificate"), std::string::npos) << status.reason;
}

}  // namespace
}  // namespace herald::test
