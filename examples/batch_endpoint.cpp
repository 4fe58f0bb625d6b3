// A batch endpoint: handlers receive up to batch_size notifications at once.
#include <herald/herald.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  auto transport = herald::Transport::open("memory://");
  herald::Notifier notifier(transport, {.publisher_id = "metering.agent"});
  for (int i = 0; i < 250; ++i) notifier.sample("{}", "telemetry.cpu.util", R"({"value": 0.5})");

  std::atomic<int> batches{0}, samples{0};
  herald::BatchEndpoint meter{"meter"};
  meter.on(herald::Priority::sample, [&](std::span<const herald::Notification* const> batch) {
    batches.fetch_add(1);
    samples.fetch_add(static_cast<int>(batch.size()));
    return herald::Result::handled;
  });
  herald::NotificationServer server(transport, {herald::Target{}}, std::vector<herald::BatchEndpoint>{meter},
                                    {.batch_size = 100, .batch_timeout = std::chrono::milliseconds(200)});
  server.start();
  for (int i = 0; i < 1000 && samples.load() < 250; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.stop();
  server.wait();
  std::printf("%d samples in %d batches\n", samples.load(), batches.load());
  return samples.load() == 250 && batches.load() >= 3 ? 0 : 1;
}
