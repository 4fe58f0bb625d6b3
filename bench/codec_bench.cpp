// Codec throughput: encode and decode of a typical notification (about 300 bytes of payload,
// three context keys), in both envelopes. Targets (one core): v2 encode >= 1,000,000/s,
// v2 decode >= 500,000/s.

#include "core/ids.hpp"

#include <herald/codec.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

namespace {

herald::Notification typical_notification() {
  herald::Notification n;
  n.message_id = "dea97041-19a6-47bf-ad4e-57fa954620fb";
  n.publisher_id = "compute.host1";
  n.event_type = "compute.instance.create.end";
  n.priority = herald::Priority::info;
  n.timestamp = "2026-11-22 02:04:13.339067";
  n.unique_id = "c3d85643745946cdaedfa2043fb47174";
  n.set_payload_json(R"({"instance_id": "9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60", "state": "active",)"
                     R"( "display_name": "web-01 \u00e9t\u00e9", "memory_mb": 2048, "vcpus": 2, "disk_gb": 20,)"
                     R"( "tenant_id": "p1", "image_ref": "c0ffee00-1234-4abc-8def-0123456789ab",)"
                     R"( "launched_at": "2026-11-22T02:04:10.000000", "load": 0.25,)"
                     R"( "tags": ["prod", "web", "eu-west"], "metadata": {"owner": "alice", "tier": "front"}})");
  n.set_context_json(R"({"user": "alice", "project_id": "p1", "request_id": "req-123"})");
  return n;
}

void encode_bench(benchmark::State& state, herald::EnvelopeVersion version) {
  const herald::Notification n = typical_notification();
  std::string out;
  for (auto _ : state) {
    out.clear();
    herald::encode(n, version, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["body_bytes"] = static_cast<double>(out.size());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}

void decode_bench(benchmark::State& state, herald::EnvelopeVersion version) {
  const std::string body = herald::encode(typical_notification(), version);
  for (auto _ : state) {
    herald::Notification n = herald::decode(body);
    benchmark::DoNotOptimize(n);
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}

void BM_EncodeV2(benchmark::State& state) { encode_bench(state, herald::EnvelopeVersion::v2); }
void BM_DecodeV2(benchmark::State& state) { decode_bench(state, herald::EnvelopeVersion::v2); }
void BM_EncodeV1(benchmark::State& state) { encode_bench(state, herald::EnvelopeVersion::v1); }
void BM_DecodeV1(benchmark::State& state) { decode_bench(state, herald::EnvelopeVersion::v1); }

// What the notify path adds per message besides encoding.
void BM_IdsAndTimestamp(benchmark::State& state) {
  herald::detail::IdGenerator ids;
  for (auto _ : state) {
    std::string message_id = ids.message_id();
    std::string unique_id = ids.unique_id();
    std::string timestamp = herald::format_timestamp(std::chrono::system_clock::now());
    benchmark::DoNotOptimize(message_id.data());
    benchmark::DoNotOptimize(unique_id.data());
    benchmark::DoNotOptimize(timestamp.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_EncodeV2);
BENCHMARK(BM_DecodeV2);
BENCHMARK(BM_EncodeV1);
BENCHMARK(BM_DecodeV1);
BENCHMARK(BM_IdsAndTimestamp);

}  // namespace
