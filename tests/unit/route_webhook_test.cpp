// herald route's webhook client: http:// URLs only, and every network failure comes back as an
// outcome (refused, timed out, non-2xx) within the timeout.
#include "http_receiver.hpp"

#include "tools/route/webhook_client.hpp"

#include <herald/error.hpp>

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

using namespace herald::route;
using namespace std::chrono_literals;

namespace {

TEST(RouteWebhook, ParsesHttpUrls) {
  HttpUrl url = parse_http_url("http://alerts.internal:8080/herald?k=v");
  EXPECT_EQ(url.host, "alerts.internal");
  EXPECT_EQ(url.port, "8080");
  EXPECT_EQ(url.target, "/herald?k=v");
  url = parse_http_url("http://h");
  EXPECT_EQ(url.port, "80");
  EXPECT_EQ(url.target, "/");
  url = parse_http_url("http://[::1]:9000?x");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.target, "/?x");
  EXPECT_EQ(url.to_string(), "http://[::1]:9000/?x");
  for (const char* bad : {"https://h/", "ftp://h/", "http://", "http://:80/", "http://h:0/", "http://h:70000/",
                          "http://h:x/", "http://user:pw@h/", "http://[::1/"})
    EXPECT_THROW(parse_http_url(bad), herald::ConfigError) << bad;
}

TEST(RouteWebhook, PostsJsonAndReportsTheStatus) {
  herald::test::HttpReceiver receiver([](std::size_t n, const std::string&) { return n == 0 ? 201 : 404; });
  const HttpUrl url = parse_http_url(receiver.url());
  HttpOutcome first = http_post(url, R"({"a": 1})", 1s, 2s);
  EXPECT_TRUE(first.success()) << first.error;
  EXPECT_EQ(first.status, 201);
  HttpOutcome second = http_post(url, "{}", 1s, 2s);
  EXPECT_FALSE(second.success());
  EXPECT_EQ(second.status, 404);
  ASSERT_EQ(receiver.accepted().size(), 1u);
  EXPECT_EQ(receiver.accepted()[0], R"({"a": 1})");
}

TEST(RouteWebhook, RefusedAndSilentServersFailWithinTheTimeout) {
  unsigned short closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }
  HttpOutcome refused =
      http_post(parse_http_url("http://127.0.0.1:" + std::to_string(closed_port) + "/"), "{}", 1s, 2s);
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.error.find("connect: "), std::string::npos) << refused.error;

  herald::test::HttpReceiver silent([](std::size_t, const std::string&) { return 0; }, 600ms);
  const auto started = std::chrono::steady_clock::now();
  HttpOutcome timed_out = http_post(parse_http_url(silent.url()), "{}", 1s, 300ms);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(timed_out.status, 0);
  EXPECT_NE(timed_out.error.find("timed out"), std::string::npos) << timed_out.error;
  EXPECT_LT(took, 1s) << "bounded by the 300 ms timeout, not by the server";
}

}  // namespace
