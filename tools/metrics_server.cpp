#include "metrics_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace herald::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kRequestTimeout{5};

tcp::endpoint parse_address(asio::io_context& io, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--metrics-address: '" + address + "' is not host:port");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*") host = "0.0.0.0";
  unsigned long port_number = 0;
  try {
    std::size_t used = 0;
    port_number = std::stoul(port, &used);
    if (used != port.size() || port_number > 65535) throw std::invalid_argument("range");
  } catch (const std::exception&) {
    throw std::runtime_error("--metrics-address: bad port '" + port + "'");
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) return {ip, static_cast<unsigned short>(port_number)};
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty())
    throw std::runtime_error("--metrics-address: cannot resolve '" + host + "': " + ec.message());
  return results.begin()->endpoint();
}

// One request, one response, then close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Metrics> metrics, std::function<Readiness()> readiness)
      : stream_(std::move(socket)), metrics_(std::move(metrics)), readiness_(std::move(readiness)) {}

  void run() {
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) return;  // timeout or a client that went away
    respond();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  void respond() {
    response_.version(request_.version());
    response_.keep_alive(false);
    response_.set(http::field::server, "herald");
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string_view target(request_.target().data(), request_.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET, HEAD");
      response_.body() = "method not allowed\n";
    } else if (path == "/metrics") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, std::string(Metrics::kContentType));
      response_.body() = metrics_ ? metrics_->serialize() : std::string();
    } else if (path == "/healthz") {
      response_.result(http::status::ok);
      response_.body() = "ok\n";
    } else if (path == "/readyz") {
      Readiness readiness = readiness_ ? readiness_() : Readiness{true, {}};
      response_.result(readiness.ready ? http::status::ok : http::status::service_unavailable);
      response_.body() = readiness.ready ? "ready\n" : "not ready: " + readiness.reason + "\n";
    } else {
      response_.result(http::status::not_found);
      response_.body() = "not found (try /metrics, /healthz, /readyz)\n";
    }
    response_.prepare_payload();
    if (request_.method() == http::verb::head) response_.body().clear();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  std::shared_ptr<Metrics> metrics_;
  std::function<Readiness()> readiness_;
};

}  // namespace

Readiness readiness_of(const Transport& transport) {
  TransportStatus status = transport.status();
  if (status.state == TransportState::connected) return {true, {}};
  std::string reason(to_string(status.state));
  if (!status.reason.empty()) reason += ": " + status.reason;
  return {false, std::move(reason)};
}

struct MetricsServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::shared_ptr<Metrics> metrics;
  std::function<Readiness()> readiness;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), metrics, readiness)->run();
      accept();
    });
  }
};

MetricsServer::MetricsServer(const std::string& address, std::shared_ptr<Metrics> metrics,
                             std::function<Readiness()> readiness)
    : impl_(std::make_unique<Impl>()) {
  impl_->metrics = std::move(metrics);
  impl_->readiness = std::move(readiness);
  tcp::endpoint endpoint = parse_address(impl_->io, address);
  beast::error_code ec;
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("--metrics-address: cannot listen on " + address + ": " + ec.message());
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

MetricsServer::~MetricsServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short MetricsServer::port() const noexcept {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace herald::cli
