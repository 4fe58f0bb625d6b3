// Notifier → memory:// send: the whole notify path (ids, timestamp, context copy, v2 encode,
// routing) on one core. The default queue is not declared, so nothing accumulates.
#include <herald/herald.hpp>

#include <benchmark/benchmark.h>

namespace {

rapidjson::Document make_payload() {
  rapidjson::Document payload;
  // ~300 bytes of JSON, like a compute.instance notification.
  payload.Parse(R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active",
    "host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, "memory_mb": 2048},
    "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 12345, "tags": ["a", "b", "c"]})");
  return payload;
}

void BM_NotifierInfoToMemory(benchmark::State& state) {
  auto transport = herald::Transport::open("memory://?declare_on_send=false");
  herald::NotifierOptions options;
  options.publisher_id = "compute.host1";
  options.drivers = {state.range(0) == 2 ? "messagingv2" : "messaging"};
  herald::Notifier notifier(transport, options);
  rapidjson::Document context;
  context.Parse(R"({"user": "alice", "project_id": "p1", "request_id": "req-123"})");
  rapidjson::Document payload = make_payload();
  for (auto _ : state) notifier.info(context, "compute.instance.create.end", payload);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NotifierInfoToMemory)->Arg(2)->Arg(1)->ArgName("version");

// The text form: context and payload given as JSON text, parsed on every call (messagingv2).
void BM_NotifierInfoTextToMemory(benchmark::State& state) {
  auto transport = herald::Transport::open("memory://?declare_on_send=false");
  herald::NotifierOptions options;
  options.publisher_id = "compute.host1";
  options.drivers = {"messagingv2"};
  herald::Notifier notifier(transport, options);
  const std::string context = R"({"user": "alice", "project_id": "p1", "request_id": "req-123"})";
  const std::string payload = R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active",
    "host": "compute-17.example.org", "flavor": {"name": "m1.small", "vcpus": 1, "memory_mb": 2048},
    "image_ref": "c3d85643-7459-46cd-aedf-a2043fb47174", "seq": 12345, "tags": ["a", "b", "c"]})";
  for (auto _ : state) notifier.info(context, "compute.instance.create.end", payload);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NotifierInfoTextToMemory);

}  // namespace
