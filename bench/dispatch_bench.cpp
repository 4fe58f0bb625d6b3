// Filter evaluations and dispatch fan-out. Run a Release build:
//   herald_dispatch_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <herald/dispatcher.hpp>

#include "server/recent_keys.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

herald::Notification make_notification() {
  herald::Notification n;
  n.message_id = "5b1a5bce-2f0e-4d5b-8c3e-7a54b0f1d0a1";
  n.publisher_id = "compute.host17";
  n.event_type = "compute.instance.create.end";
  n.timestamp = "2024-05-06 07:08:09.123456";
  n.set_payload_json(
      R"({"instance_id":"0a1b2c3d","state":"active","tenant_id":"t-42","memory_mb":2048,"display_name":"web-1"})");
  n.set_context_json(R"({"user":"alice","project_id":"p-1","request_id":"req-9"})");
  return n;
}

void run_filter(benchmark::State& state, const herald::Filter& filter, const herald::Notification& n, bool expected) {
  if (filter.matches(n) != expected) state.SkipWithError("filter gave an unexpected answer");
  for (auto _ : state) benchmark::DoNotOptimize(filter.matches(n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Literal rules: the prefix fast path (no RE2 call).
void BM_FilterTwoLiteralRulesMatch(benchmark::State& state) {
  const auto f = herald::Filter{}.publisher_id(R"(compute\.)").event_type(R"(compute\.instance\.create\.end$)");
  run_filter(state, f, make_notification(), true);
}
BENCHMARK(BM_FilterTwoLiteralRulesMatch);

void BM_FilterTwoLiteralRulesMiss(benchmark::State& state) {
  const auto f = herald::Filter{}.publisher_id(R"(compute\.)").event_type(R"(volume\.)");
  run_filter(state, f, make_notification(), false);
}
BENCHMARK(BM_FilterTwoLiteralRulesMiss);

// Real regexes: both rules go through RE2.
void BM_FilterTwoRegexRulesMatch(benchmark::State& state) {
  const auto f =
      herald::Filter{}.publisher_id(R"(compute\.host[0-9]+$)").event_type(R"(compute\.instance\.(create|delete)\.)");
  run_filter(state, f, make_notification(), true);
}
BENCHMARK(BM_FilterTwoRegexRulesMatch);

void BM_FilterTwoRegexRulesMissFirst(benchmark::State& state) {
  const auto f =
      herald::Filter{}.publisher_id(R"(network\.host[0-9]+$)").event_type(R"(compute\.instance\.(create|delete)\.)");
  run_filter(state, f, make_notification(), false);
}
BENCHMARK(BM_FilterTwoRegexRulesMissFirst);

void BM_FilterTwoRegexRulesMissSecond(benchmark::State& state) {
  const auto f =
      herald::Filter{}.publisher_id(R"(compute\.host[0-9]+$)").event_type(R"(compute\.instance\.(resize|reboot)\.)");
  run_filter(state, f, make_notification(), false);
}
BENCHMARK(BM_FilterTwoRegexRulesMissSecond);

// A leading `.*` defeats RE2's prefix acceleration: the slow end of common patterns.
void BM_FilterTwoDotStarRegexRulesMatch(benchmark::State& state) {
  const auto f = herald::Filter{}.publisher_id(R"(.*host[0-9])").event_type(R"(.*\.(create|delete)\.end)");
  run_filter(state, f, make_notification(), true);
}
BENCHMARK(BM_FilterTwoDotStarRegexRulesMatch);

void BM_FilterPayloadRuleMatch(benchmark::State& state) {
  const auto f = herald::Filter{}.event_type(R"(compute\.)").payload("state", "(active|building)$");
  run_filter(state, f, make_notification(), true);
}
BENCHMARK(BM_FilterPayloadRuleMatch);

void BM_FilterPayloadRuleMissingKey(benchmark::State& state) {
  const auto f = herald::Filter{}.payload("host", ".*");
  run_filter(state, f, make_notification(), false);
}
BENCHMARK(BM_FilterPayloadRuleMissingKey);

void BM_FilterEmpty(benchmark::State& state) { run_filter(state, herald::Filter{}, make_notification(), true); }
BENCHMARK(BM_FilterEmpty);

// Dispatch to N endpoints of the same priority; arg 1 adds a two-rule literal filter to each.
void BM_DispatchFanOut(benchmark::State& state) {
  const auto endpoint_count = static_cast<std::size_t>(state.range(0));
  const bool filtered = state.range(1) != 0;
  std::vector<herald::Endpoint> endpoints;
  std::int64_t handled = 0;
  for (std::size_t i = 0; i < endpoint_count; ++i) {
    herald::Endpoint endpoint{"endpoint-" + std::to_string(i)};
    if (filtered) endpoint.filter(herald::Filter{}.publisher_id(R"(compute\.)").event_type(R"(compute\.instance)"));
    endpoint.on(herald::Priority::info, [&handled](const herald::Notification&) {
      ++handled;
      return herald::Result::handled;
    });
    endpoints.push_back(std::move(endpoint));
  }
  const herald::Dispatcher dispatcher(std::move(endpoints));
  const herald::Notification n = make_notification();
  for (auto _ : state) benchmark::DoNotOptimize(dispatcher.dispatch(n));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["handler_calls/s"] = benchmark::Counter(static_cast<double>(handled), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DispatchFanOut)->ArgNames({"endpoints", "filtered"})->ArgsProduct({{1, 4, 16}, {0, 1}});

// A batch of 100 (70 info, 30 error) to 4 batch endpoints, half of them filtered.
void BM_BatchDispatch100(benchmark::State& state) {
  std::vector<herald::BatchEndpoint> endpoints;
  for (int i = 0; i < 4; ++i) {
    herald::BatchEndpoint endpoint{"batch-" + std::to_string(i)};
    if (i % 2 == 1) endpoint.filter(herald::Filter{}.publisher_id(R"(compute\.host1)"));
    endpoint.on({herald::Priority::info, herald::Priority::error},
                [](std::span<const herald::Notification* const> batch) {
                  benchmark::DoNotOptimize(batch.size());
                  return herald::Result::handled;
                });
    endpoints.push_back(std::move(endpoint));
  }
  const herald::BatchDispatcher dispatcher(std::move(endpoints));
  std::vector<herald::Notification> notifications(100, make_notification());
  std::vector<const herald::Notification*> batch;
  for (std::size_t i = 0; i < notifications.size(); ++i) {
    notifications[i].priority = i % 10 < 3 ? herald::Priority::error : herald::Priority::info;
    notifications[i].publisher_id = "compute.host" + std::to_string(i % 20);
    batch.push_back(&notifications[i]);
  }
  for (auto _ : state) benchmark::DoNotOptimize(dispatcher.dispatch(batch));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_BatchDispatch100);

// The server's per-message duplicate check with the default window (4096): is this key new
// (contains), then remember it (increment), for a stream of distinct 32-hex-digit unique_ids.
void BM_DedupWindowPerMessage(benchmark::State& state) {
  herald::detail::RecentKeys window(4096);
  std::vector<std::string> keys;
  for (int i = 0; i < 65536; ++i) {
    char key[33];
    std::snprintf(key, sizeof key, "%016llx%016llx", 0x9e3779b97f4a7c15ULL * static_cast<unsigned long long>(i + 1),
                  static_cast<unsigned long long>(i));
    keys.emplace_back(key);
  }
  std::size_t next = 0;
  for (auto _ : state) {
    const std::string& key = keys[next++ & 65535];
    if (!window.contains(key)) benchmark::DoNotOptimize(window.increment(key));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DedupWindowPerMessage);

}  // namespace
