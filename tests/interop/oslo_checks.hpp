#pragma once
// Field-by-field comparisons between what one side sent and what the other received.

#include <herald/notification.hpp>

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace herald::interop {

/// The context oslo handed its drivers (a "sent" line's ctxt) for kSentContext: every member of
/// kSanitizedContext with an equal value, and no auth_token (absent or null). oslo 14 and 16.1
/// both flatten a RequestContext to the same 17 keys.
void expect_sent_context(const rapidjson::Value& ctxt);

/// oslo -> Herald: `sent` are the peer's "sent" lines (oslo's test-driver records), `received`
/// what Herald handlers got. Every sent notification must arrive exactly once, with equal
/// message_id, publisher_id, event_type, priority, timestamp, payload and (sanitised) context.
void check_oslo_to_herald(const std::vector<const rapidjson::Document*>& sent,
                          const std::vector<Notification>& received);

/// Herald -> oslo: `sent` is the Herald notifier's test-driver capture, `received` the peer's
/// "msg" lines. Every notification must be dispatched exactly once to the endpoint method of
/// its priority, with equal publisher_id, event_type, payload (compared with the original
/// herald_payload_json text), metadata and ctxt (kSanitizedContext plus oslo's client_timeout).
void check_herald_to_oslo(const std::vector<Notification>& sent,
                          const std::vector<const rapidjson::Document*>& received);

/// oslo -> oslo: `sent` are the sending peer's "sent" lines, `received` the listening peer's
/// "msg" lines. Every notification must be dispatched exactly once to the method of its
/// priority with equal publisher_id, event_type, timestamp, payload, and the sent context plus
/// client_timeout (null).
void check_oslo_to_oslo(const std::vector<const rapidjson::Document*>& sent,
                        const std::vector<const rapidjson::Document*>& received);

/// Runs oslo Notifier (driver `driver`, `total` notifications cycling the seven priorities,
/// context kSentContext) -> Herald NotificationServer (pool `pool`, or none) and checks every field.
void run_oslo_to_herald(const std::string& driver, const std::string& pool, int total,
                        const std::vector<std::string>& extra_args = {});

/// Runs Herald Notifier (driver `driver`, `total` notifications) -> oslo listener (pool `pool`
/// or none; a batch listener when `batch_size` > 0) and checks every field. Batch runs send
/// the priorities in blocks so that batches hold several notifications of one priority.
/// Returns the largest batch the batch endpoints saw (0 for plain listeners).
int run_herald_to_oslo(const std::string& driver, const std::string& pool, int total, int batch_size = 0);

/// Runs oslo Notifier -> oslo listener (both python_command(), `total` notifications cycling the
/// seven priorities, context kSentContext), both with `queue_flags` (the peer's --durable,
/// --quorum), and checks every field. Needs no Herald driver, so it runs against RabbitMQ 4 too.
void run_oslo_to_oslo(int total, const std::vector<std::string>& queue_flags);

}  // namespace herald::interop
