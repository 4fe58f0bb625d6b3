// BatchDispatcher: oslo's BatchNotificationDispatcher rules (groups by priority, per-endpoint
// filtering, requeue of a whole group).

#include <herald/dispatcher.hpp>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using herald::BatchDispatcher;
using herald::BatchEndpoint;
using herald::Filter;
using herald::Notification;
using herald::Priority;
using herald::Result;

using Batch = std::span<const Notification* const>;

/// Owns notifications and exposes them as a batch of pointers.
struct Notifications {
  std::vector<std::unique_ptr<Notification>> owned;
  std::vector<const Notification*> pointers;

  void add(Priority priority, std::string event_type, std::string publisher = "compute.host1") {
    auto n = std::make_unique<Notification>();
    n->priority = priority;
    n->event_type = std::move(event_type);
    n->publisher_id = std::move(publisher);
    n->set_payload_json(R"({"i":")" + std::to_string(owned.size()) + R"("})");
    pointers.push_back(n.get());
    owned.push_back(std::move(n));
  }
  Batch batch() const { return pointers; }
};

/// One handler call: endpoint name and the event types it received.
struct Call {
  std::string endpoint;
  std::vector<std::string> events;
  bool operator==(const Call&) const = default;
};

void PrintTo(const Call& call, std::ostream* os) {
  *os << call.endpoint << "[";
  for (const auto& e : call.events) *os << e << " ";
  *os << "]";
}

struct Recorder {
  std::vector<Call> calls;

  herald::BatchHandler returning(std::string name, Result result) {
    return [this, name, result](Batch batch) {
      Call call{name, {}};
      for (const Notification* n : batch) call.events.push_back(n->event_type);
      calls.push_back(std::move(call));
      return result;
    };
  }
};

std::vector<Result> repeat(Result r, std::size_t n) { return std::vector<Result>(n, r); }

TEST(BatchDispatcher, OsloVerifiedExampleMixedBatch) {
  // oslo's verified run: 7 info + 3 error, batch size 5 -> [info x5] then [error x3 + info x2].
  Recorder recorder;
  const BatchDispatcher dispatcher({BatchEndpoint{"e"}
                                        .on(Priority::info, recorder.returning("e", Result::handled))
                                        .on(Priority::error, recorder.returning("e", Result::requeue))});

  Notifications first;
  for (int i = 0; i < 5; ++i) first.add(Priority::info, "info" + std::to_string(i));
  EXPECT_EQ(dispatcher.dispatch(first.batch()), repeat(Result::handled, 5));

  Notifications second;
  second.add(Priority::error, "error0");
  second.add(Priority::info, "info5");
  second.add(Priority::error, "error1");
  second.add(Priority::info, "info6");
  second.add(Priority::error, "error2");
  const std::vector<Result> results = dispatcher.dispatch(second.batch());

  // One result per input, in input order; the error group is requeued as a whole.
  EXPECT_EQ(results,
            (std::vector<Result>{Result::requeue, Result::handled, Result::requeue, Result::handled, Result::requeue}));
  // Groups run alphabetically (error before info), arrival order inside a group.
  ASSERT_EQ(recorder.calls.size(), 3u);
  EXPECT_EQ(recorder.calls[1], (Call{"e", {"error0", "error1", "error2"}}));
  EXPECT_EQ(recorder.calls[2], (Call{"e", {"info5", "info6"}}));
}

TEST(BatchDispatcher, RequeueMarksTheWholeGroupAndSkipsLaterEndpoints) {
  Recorder recorder;
  const BatchDispatcher dispatcher({BatchEndpoint{"picky"}
                                        .filter(Filter{}.event_type("wanted"))
                                        .on(Priority::info, recorder.returning("picky", Result::requeue)),
                                    BatchEndpoint{"later"}
                                        .on(Priority::info, recorder.returning("later", Result::handled))
                                        .on(Priority::error, recorder.returning("later", Result::handled))});

  Notifications n;
  n.add(Priority::info, "wanted");
  n.add(Priority::info, "other");
  n.add(Priority::error, "failure");
  const std::vector<Result> results = dispatcher.dispatch(n.batch());

  // "other" never reached the requeuing endpoint, yet its whole group is requeued.
  EXPECT_EQ(results, (std::vector<Result>{Result::requeue, Result::requeue, Result::handled}));
  EXPECT_EQ(recorder.calls, (std::vector<Call>{{"later", {"failure"}}, {"picky", {"wanted"}}}));
}

TEST(BatchDispatcher, ExceptionRequeuesTheGroupAndIsLogged) {
  std::ostringstream text;
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(text));
  logger->set_pattern("%l %v");
  Recorder recorder;
  const BatchDispatcher dispatcher(
      {BatchEndpoint{"thrower"}.on(Priority::warn, [](Batch) -> Result { throw std::runtime_error("broken"); }),
       BatchEndpoint{"later"}.on(Priority::warn, recorder.returning("later", Result::handled))},
      logger);

  Notifications n;
  n.add(Priority::warn, "a");
  n.add(Priority::warn, "b");
  EXPECT_EQ(dispatcher.dispatch(n.batch()), repeat(Result::requeue, 2));
  EXPECT_TRUE(recorder.calls.empty());
  EXPECT_EQ(text.str(), "warning endpoint 'thrower' raised: broken\n");
}

TEST(BatchDispatcher, EachEndpointGetsWhatItsFilterPasses) {
  Recorder recorder;
  const BatchDispatcher dispatcher(
      {BatchEndpoint{"compute"}
           .filter(Filter{}.publisher_id("compute"))
           .on(Priority::info, recorder.returning("compute", Result::handled)),
       BatchEndpoint{"all"}.on(Priority::info, recorder.returning("all", Result::handled))});

  Notifications n;
  n.add(Priority::info, "e1", "compute.host1");
  n.add(Priority::info, "e2", "network.host2");
  n.add(Priority::info, "e3", "compute.host3");
  EXPECT_EQ(dispatcher.dispatch(n.batch()), repeat(Result::handled, 3));
  EXPECT_EQ(recorder.calls, (std::vector<Call>{{"compute", {"e1", "e3"}}, {"all", {"e1", "e2", "e3"}}}));
}

TEST(BatchDispatcher, EndpointWithNothingPassingItsFilterIsSkipped) {
  Recorder recorder;
  const BatchDispatcher dispatcher(
      {BatchEndpoint{"volume"}
           .filter(Filter{}.event_type("volume"))
           .on(Priority::info, recorder.returning("volume", Result::requeue)),
       BatchEndpoint{"all"}.on(Priority::info, recorder.returning("all", Result::handled))});

  Notifications n;
  n.add(Priority::info, "compute.a");
  EXPECT_EQ(dispatcher.dispatch(n.batch()), repeat(Result::handled, 1));
  EXPECT_EQ(recorder.calls, (std::vector<Call>{{"all", {"compute.a"}}}));
}

TEST(BatchDispatcher, GroupsRunInAlphabeticalOrder) {
  Recorder recorder;
  BatchEndpoint endpoint{"e"};
  for (Priority p : herald::kAllPriorities)
    endpoint.on(p, recorder.returning(std::string(herald::to_string(p)), Result::handled));
  const BatchDispatcher dispatcher({endpoint});

  Notifications n;
  for (Priority p : {Priority::warn, Priority::sample, Priority::info, Priority::error, Priority::debug,
                     Priority::critical, Priority::audit, Priority::warn})
    n.add(p, std::string(herald::to_string(p)));
  dispatcher.dispatch(n.batch());

  std::vector<std::string> order;
  for (const Call& call : recorder.calls) order.push_back(call.endpoint);
  EXPECT_EQ(order, (std::vector<std::string>{"audit", "critical", "debug", "error", "info", "sample", "warn"}));
  EXPECT_EQ(recorder.calls.back().events, (std::vector<std::string>{"warn", "warn"}));
}

TEST(BatchDispatcher, PriorityWithoutEndpointsIsHandled) {
  Recorder recorder;
  const BatchDispatcher dispatcher({BatchEndpoint{"e"}.on(Priority::info, recorder.returning("e", Result::requeue))});
  Notifications n;
  n.add(Priority::debug, "d");
  n.add(Priority::info, "i");
  EXPECT_EQ(dispatcher.dispatch(n.batch()), (std::vector<Result>{Result::handled, Result::requeue}));
  EXPECT_EQ(recorder.calls, (std::vector<Call>{{"e", {"i"}}}));
}

TEST(BatchDispatcher, EmptyBatchAndNullEntries) {
  Recorder recorder;
  const BatchDispatcher dispatcher({BatchEndpoint{"e"}.on(Priority::info, recorder.returning("e", Result::requeue))});
  EXPECT_TRUE(dispatcher.dispatch({}).empty());

  Notifications n;
  n.add(Priority::info, "i");
  n.pointers.insert(n.pointers.begin(), nullptr);
  EXPECT_EQ(dispatcher.dispatch(n.batch()), (std::vector<Result>{Result::handled, Result::requeue}));
  EXPECT_EQ(recorder.calls, (std::vector<Call>{{"e", {"i"}}}));
}

TEST(BatchDispatcher, PrioritiesAreTheUnionInOsloOrder) {
  const auto handled = [](Batch) { return Result::handled; };
  const BatchDispatcher dispatcher({BatchEndpoint{"a"}.on(Priority::warn, handled),
                                    BatchEndpoint{"b"}.on(Priority::debug, handled).on(Priority::warn, handled)});
  EXPECT_EQ(dispatcher.priorities(), (std::vector<Priority>{Priority::debug, Priority::warn}));
  EXPECT_EQ(dispatcher.endpoints().size(), 2u);
}

}  // namespace

// What the server counts: per notification, the handlers that received it and the filters that
// kept it out, as Dispatcher counts them for one notification.
TEST(BatchDispatcher, DispatchEachCountsCallsAndFiltersPerNotification) {
  Recorder recorder;
  const BatchDispatcher dispatcher({BatchEndpoint{"compute"}
                                        .filter(Filter{}.publisher_id("^compute\\."))
                                        .on(Priority::info, recorder.returning("compute", Result::handled))
                                        .on(Priority::warn, recorder.returning("compute", Result::requeue)),
                                    BatchEndpoint{"network"}
                                        .filter(Filter{}.publisher_id("^network\\."))
                                        .on(Priority::info, recorder.returning("network", Result::handled))});
  Notifications n;
  n.add(Priority::info, "both-see-it", "compute.a");
  n.add(Priority::info, "second-sees-it", "network.a");
  n.add(Priority::info, "nobody-sees-it", "image.a");
  n.add(Priority::error, "no-endpoint", "compute.a");
  n.add(Priority::warn, "requeued", "compute.a");
  n.add(Priority::warn, "filtered-but-in-a-requeued-group", "image.a");
  n.pointers.push_back(nullptr);

  const std::vector<herald::DispatchResult> outcomes = dispatcher.dispatch_each(n.batch());
  ASSERT_EQ(outcomes.size(), 7u);
  auto expect = [&](std::size_t i, Result result, std::size_t called, std::size_t filtered_out) {
    SCOPED_TRACE(i);
    EXPECT_EQ(outcomes[i].result, result);
    EXPECT_EQ(outcomes[i].called, called);
    EXPECT_EQ(outcomes[i].filtered_out, filtered_out);
  };
  expect(0, Result::handled, 1, 1);
  expect(1, Result::handled, 1, 1);
  expect(2, Result::handled, 0, 2);
  expect(3, Result::handled, 0, 0);
  expect(4, Result::requeue, 1, 0);
  expect(5, Result::requeue, 0, 1);  // oslo requeues the whole group
  expect(6, Result::handled, 0, 0);
  std::vector<Result> results;
  for (const auto& outcome : outcomes) results.push_back(outcome.result);
  EXPECT_EQ(dispatcher.dispatch(n.batch()), results);
}
