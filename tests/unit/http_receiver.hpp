#pragma once
// A tiny HTTP server on loopback for webhook tests: records every request body and answers with
// the status a test-supplied responder picks (0 = hold the request for `hold` and close
// without answering, which a client sees as a timeout). One thread; one request per connection.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::test {

class HttpReceiver {
 public:
  /// @param responder  status for the n-th request (0-based count) with this body
  explicit HttpReceiver(std::function<int(std::size_t n, const std::string& body)> responder,
                        std::chrono::milliseconds hold = std::chrono::milliseconds(1500))
      : responder_(std::move(responder)), hold_(hold) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HttpReceiver() {
    io_.stop();
    thread_.join();
  }
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  /// Bodies of the requests answered 2xx, in order.
  std::vector<std::string> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  /// How many requests came (answered or not).
  std::size_t requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      serve(std::move(socket));
      accept();
    });
  }
  void serve(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) return;
    std::size_t n = 0;
    {
      std::lock_guard lock(mutex_);
      n = requests_++;
    }
    const int status = responder_(n, request.body());
    if (status == 0) {
      std::this_thread::sleep_for(hold_);
      return;  // closes without an answer
    }
    if (status >= 200 && status < 300) {
      std::lock_guard lock(mutex_);
      accepted_.push_back(request.body());
    }
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.keep_alive(false);
    response.body() = "ok\n";
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  }

  std::function<int(std::size_t, const std::string&)> responder_;
  std::chrono::milliseconds hold_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> accepted_;
  std::size_t requests_ = 0;
};

}  // namespace herald::test
