// Dispatcher: oslo's NotificationDispatcher rules (order, filters, stop at the first requeue).

#include <herald/dispatcher.hpp>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using herald::Dispatcher;
using herald::DispatchResult;
using herald::Endpoint;
using herald::Filter;
using herald::Notification;
using herald::Priority;
using herald::Result;

Notification make(Priority priority, std::string publisher = "compute.host1") {
  Notification n;
  n.priority = priority;
  n.publisher_id = std::move(publisher);
  n.event_type = "compute.instance.create.end";
  n.set_payload_json(R"({"secret":"payload-must-not-be-logged"})");
  return n;
}

/// Records which endpoints ran, in order.
struct Calls {
  std::vector<std::string> names;

  herald::Handler returning(std::string name, Result result) {
    return [this, name, result](const Notification&) {
      names.push_back(name);
      return result;
    };
  }
};

/// A logger writing into a string, so tests can read what was logged.
struct CapturedLog {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
  CapturedLog() { logger->set_pattern("%l %v"); }
};

TEST(Dispatcher, CallsEndpointsInListOrder) {
  Calls calls;
  std::vector<Endpoint> endpoints;
  for (const char* name : {"a", "b", "c"})
    endpoints.push_back(Endpoint{name}.on(Priority::info, calls.returning(name, Result::handled)));
  const Dispatcher dispatcher(std::move(endpoints));

  const DispatchResult outcome = dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(outcome.result, Result::handled);
  EXPECT_EQ(outcome.called, 3u);
  EXPECT_EQ(outcome.filtered_out, 0u);
  EXPECT_EQ(calls.names, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Dispatcher, UsesTheNotificationPriority) {
  Calls calls;
  const Dispatcher dispatcher({Endpoint{"info"}.on(Priority::info, calls.returning("info", Result::handled)),
                               Endpoint{"warn"}.on(Priority::warn, calls.returning("warn", Result::handled))});
  EXPECT_EQ(dispatcher.dispatch(make(Priority::warn)).called, 1u);
  EXPECT_EQ(calls.names, (std::vector<std::string>{"warn"}));
}

TEST(Dispatcher, OneHandlerForSeveralPriorities) {
  Calls calls;
  const Dispatcher dispatcher(
      {Endpoint{"e"}.on({Priority::error, Priority::critical}, calls.returning("e", Result::handled))});
  dispatcher.dispatch(make(Priority::error));
  dispatcher.dispatch(make(Priority::critical));
  dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(calls.names, (std::vector<std::string>{"e", "e"}));
}

TEST(Dispatcher, StopsAtTheFirstRequeue) {
  Calls calls;
  const Dispatcher dispatcher({Endpoint{"a"}.on(Priority::info, calls.returning("a", Result::handled)),
                               Endpoint{"b"}.on(Priority::info, calls.returning("b", Result::requeue)),
                               Endpoint{"c"}.on(Priority::info, calls.returning("c", Result::handled))});
  const DispatchResult outcome = dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(outcome.result, Result::requeue);
  EXPECT_EQ(outcome.called, 2u);
  EXPECT_EQ(calls.names, (std::vector<std::string>{"a", "b"}));
}

TEST(Dispatcher, ExceptionCountsAsRequeueAndIsLoggedOnce) {
  Calls calls;
  CapturedLog log;
  const Dispatcher dispatcher(
      {Endpoint{"a"}.on(Priority::info, calls.returning("a", Result::handled)),
       Endpoint{"thrower"}.on(Priority::info, [](const Notification&) -> Result { throw std::runtime_error("boom"); }),
       Endpoint{"c"}.on(Priority::info, calls.returning("c", Result::handled))},
      log.logger);

  const DispatchResult outcome = dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(outcome.result, Result::requeue);
  EXPECT_EQ(outcome.called, 2u);
  EXPECT_EQ(calls.names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(log.text.str(), "warning endpoint 'thrower' raised: boom\n");
}

TEST(Dispatcher, NonStandardExceptionCountsAsRequeue) {
  CapturedLog log;
  const Dispatcher dispatcher({Endpoint{"odd"}.on(Priority::info, [](const Notification&) -> Result { throw 42; })},
                              log.logger);
  EXPECT_EQ(dispatcher.dispatch(make(Priority::info)).result, Result::requeue);
  EXPECT_EQ(log.text.str(), "warning endpoint 'odd' raised: unknown exception\n");
}

TEST(Dispatcher, NeverLogsThePayload) {
  CapturedLog log;
  const Dispatcher dispatcher(
      {Endpoint{"e"}.on(Priority::info, [](const Notification&) -> Result { throw std::logic_error("bad"); })},
      log.logger);
  dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(log.text.str().find("payload-must-not-be-logged"), std::string::npos);
}

TEST(Dispatcher, NullLoggerUsesAPrivateOne) {
  const Dispatcher dispatcher(
      {Endpoint{"e"}.on(Priority::info, [](const Notification&) -> Result { throw std::runtime_error("x"); })});
  EXPECT_EQ(dispatcher.dispatch(make(Priority::info)).result, Result::requeue);
}

TEST(Dispatcher, CountsFilteredOutEndpointsAndContinues) {
  Calls calls;
  const Dispatcher dispatcher({Endpoint{"net"}
                                   .filter(Filter{}.publisher_id("network"))
                                   .on(Priority::info, calls.returning("net", Result::requeue)),
                               Endpoint{"compute"}
                                   .filter(Filter{}.publisher_id("compute"))
                                   .on(Priority::info, calls.returning("compute", Result::handled)),
                               Endpoint{"volume"}
                                   .filter(Filter{}.event_type("volume"))
                                   .on(Priority::info, calls.returning("volume", Result::requeue)),
                               Endpoint{"other-priority"}
                                   .filter(Filter{}.publisher_id("network"))
                                   .on(Priority::error, calls.returning("other-priority", Result::handled))});

  const DispatchResult outcome = dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(outcome.result, Result::handled);
  EXPECT_EQ(outcome.called, 1u);
  EXPECT_EQ(outcome.filtered_out, 2u);  // endpoints of other priorities are not counted
  EXPECT_EQ(calls.names, (std::vector<std::string>{"compute"}));
}

TEST(Dispatcher, FilteredOutBeforeARequeueStillCounted) {
  Calls calls;
  const Dispatcher dispatcher({Endpoint{"skip"}
                                   .filter(Filter{}.publisher_id("network"))
                                   .on(Priority::info, calls.returning("skip", Result::handled)),
                               Endpoint{"stop"}.on(Priority::info, calls.returning("stop", Result::requeue)),
                               Endpoint{"never"}
                                   .filter(Filter{}.publisher_id("network"))
                                   .on(Priority::info, calls.returning("never", Result::handled))});
  const DispatchResult outcome = dispatcher.dispatch(make(Priority::info));
  EXPECT_EQ(outcome.result, Result::requeue);
  EXPECT_EQ(outcome.called, 1u);
  EXPECT_EQ(outcome.filtered_out, 1u);  // endpoints after the stop are not evaluated
}

TEST(Dispatcher, PriorityWithoutEndpointsIsHandled) {
  Calls calls;
  const Dispatcher dispatcher({Endpoint{"info"}.on(Priority::info, calls.returning("info", Result::requeue))});
  const DispatchResult outcome = dispatcher.dispatch(make(Priority::sample));
  EXPECT_EQ(outcome.result, Result::handled);
  EXPECT_EQ(outcome.called, 0u);
  EXPECT_EQ(outcome.filtered_out, 0u);
  EXPECT_TRUE(calls.names.empty());
}

TEST(Dispatcher, NoEndpointsAtAll) {
  const Dispatcher dispatcher({});
  EXPECT_TRUE(dispatcher.priorities().empty());
  EXPECT_EQ(dispatcher.dispatch(make(Priority::info)).result, Result::handled);
}

TEST(Dispatcher, PrioritiesAreTheUnionInOsloOrder) {
  const auto handled = [](const Notification&) { return Result::handled; };
  const Dispatcher dispatcher({Endpoint{"a"}.on(Priority::sample, handled).on(Priority::info, handled),
                               Endpoint{"b"}.on(Priority::audit, handled).on(Priority::info, handled),
                               Endpoint{"none"}});
  EXPECT_EQ(dispatcher.priorities(), (std::vector<Priority>{Priority::audit, Priority::info, Priority::sample}));
  ASSERT_EQ(dispatcher.endpoints().size(), 3u);
  EXPECT_EQ(dispatcher.endpoints()[2].name(), "none");
}

TEST(Dispatcher, RequeueIsPerNotification) {
  int calls = 0;
  const Dispatcher dispatcher({Endpoint{"flaky"}.on(
      Priority::info, [&calls](const Notification&) { return ++calls == 1 ? Result::requeue : Result::handled; })});
  EXPECT_EQ(dispatcher.dispatch(make(Priority::info)).result, Result::requeue);
  EXPECT_EQ(dispatcher.dispatch(make(Priority::info)).result, Result::handled);
}

TEST(Dispatcher, ConcurrentDispatchOnOneDispatcher) {
  std::atomic<int> calls{0};
  const Dispatcher dispatcher({Endpoint{"a"}
                                   .filter(Filter{}.publisher_id(R"(compute\.host[0-9]+$)").event_type(".*create"))
                                   .on(Priority::info, [&calls](const Notification&) {
                                     calls.fetch_add(1, std::memory_order_relaxed);
                                     return Result::handled;
                                   })});
  const Notification n = make(Priority::info);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) dispatcher.dispatch(n);
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(calls.load(), 4000);
}

}  // namespace
