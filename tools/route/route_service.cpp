#include "tools/route/route_service.hpp"

#include <herald/error.hpp>

#include <spdlog/logger.h>

#include <algorithm>

namespace herald::route {
namespace {

void add(ServerStats& total, const ServerStats& s) {
  total.received += s.received;
  total.handled += s.handled;
  total.filtered += s.filtered;
  total.no_endpoint += s.no_endpoint;
  total.requeued += s.requeued;
  total.requeue_refused += s.requeue_refused;
  total.dead_lettered += s.dead_lettered;
  total.undecodable += s.undecodable;
  total.unknown_priority += s.unknown_priority;
  total.duplicates += s.duplicates;
  total.released += s.released;
  total.in_progress += s.in_progress;
}

void add(std::vector<EndpointSummary>& totals, const std::string& name, const std::string& kind,
         const ActionStats& stats) {
  auto it = std::find_if(totals.begin(), totals.end(), [&](const EndpointSummary& e) { return e.name == name; });
  if (it == totals.end()) it = totals.insert(totals.end(), EndpointSummary{name, kind, {}});
  it->kind = kind;
  it->stats.delivered += stats.delivered;
  it->stats.failed += stats.failed;
}

}  // namespace

struct RouteService::Generation {
  RouteConfig config;
  EndpointSet set;
  std::unique_ptr<NotificationServer> server;
};

RouteService::RouteService(std::shared_ptr<ActionResources> resources, RouteConfig config, ServerOptions base_options)
    : resources_(std::move(resources)), base_options_(std::move(base_options)) {
  current_ = build(std::move(config));
}

RouteService::~RouteService() {
  // Servers stop and wait in their destructors; the current one first, then retired ones.
  std::lock_guard lock(lifecycle_);
  current_.reset();
  retiring_.clear();
}

std::unique_ptr<RouteService::Generation> RouteService::build(RouteConfig config) {
  auto generation = std::make_unique<Generation>();
  generation->set = build_endpoints(config, *resources_);
  ServerOptions options = base_options_;
  options.workers = config.workers;
  options.pool = config.pool;
  options.allow_requeue = config.allow_requeue;
  options.max_redeliveries = config.max_redeliveries;
  if (config.credit_window != 0) options.credit_window = config.credit_window;
  generation->server =
      std::make_unique<NotificationServer>(resources_->transport(), config.targets, generation->set.endpoints, options);
  generation->config = std::move(config);
  return generation;
}

void RouteService::start() {
  std::lock_guard lock(lifecycle_);
  current_->server->start();
}

bool RouteService::reload(RouteConfig config, std::chrono::milliseconds drain) {
  std::lock_guard lock(lifecycle_);
  const std::string source = config.source;
  std::unique_ptr<Generation> next;
  try {
    next = build(std::move(config));
    next->server->start();  // consuming before the old one stops: no gap, nothing left behind
  } catch (const std::exception& e) {
    if (resources_->logger())
      resources_->logger()->error("reload of {} failed, the previous routes keep running: {}", source, e.what());
    return false;  // `next` (never started, or failed to start) is destroyed here
  }
  std::unique_ptr<Generation> previous;
  {
    std::lock_guard state(state_);
    previous = std::exchange(current_, std::move(next));
    ++reloads_;
  }
  // Takes nothing new; finishes what it holds within `drain`; releases the rest to the queue,
  // which the new server already consumes.
  previous->server->stop(drain);
  std::lock_guard state(state_);
  retiring_.push_back(std::move(previous));
  return true;
}

void RouteService::collect() {
  std::vector<std::unique_ptr<Generation>> finished;
  {
    std::lock_guard lock(lifecycle_);
    std::lock_guard state(state_);
    for (auto it = retiring_.begin(); it != retiring_.end();) {
      if ((*it)->server->wait_for(std::chrono::milliseconds(0))) {
        add(retired_stats_, (*it)->server->stats());
        for (const auto& action : (*it)->set.actions)
          add(retired_endpoints_, action->endpoint(), action->kind(), action->stats());
        finished.push_back(std::move(*it));
        it = retiring_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Destroyed outside the locks (a finished server's destructor has nothing left to wait for).
}

void RouteService::stop(std::chrono::milliseconds drain) {
  std::lock_guard lock(lifecycle_);
  std::lock_guard state(state_);
  current_->server->stop(drain);
  for (const auto& generation : retiring_) generation->server->stop(drain);  // only shortens a drain
}

bool RouteService::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  };
  std::vector<NotificationServer*> servers;
  {
    std::lock_guard state(state_);
    servers.push_back(current_->server.get());
    for (const auto& generation : retiring_) servers.push_back(generation->server.get());
  }
  // Safe without the lock: only collect() and the destructor free servers, and the command
  // calls neither while it waits.
  for (NotificationServer* server : servers)
    if (!server->wait_for(left())) return false;
  return true;
}

ServerStats RouteService::stats() const {
  std::lock_guard state(state_);
  ServerStats total = retired_stats_;
  add(total, current_->server->stats());
  for (const auto& generation : retiring_) add(total, generation->server->stats());
  return total;
}

std::vector<EndpointSummary> RouteService::endpoint_summaries() const {
  std::lock_guard state(state_);
  std::vector<EndpointSummary> totals = retired_endpoints_;
  for (const auto& generation : retiring_)
    for (const auto& action : generation->set.actions) add(totals, action->endpoint(), action->kind(), action->stats());
  for (const auto& action : current_->set.actions) add(totals, action->endpoint(), action->kind(), action->stats());
  return totals;
}

RouteConfig RouteService::config() const {
  std::lock_guard state(state_);
  return current_->config;
}

std::uint64_t RouteService::reloads() const {
  std::lock_guard state(state_);
  return reloads_;
}

}  // namespace herald::route
