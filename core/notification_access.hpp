#pragma once
// Internal access to a Notification's document, for the codec.

#include <herald/notification.hpp>

namespace herald::detail {

struct NotificationAccess {
  /// The document: a root object with exactly "payload" then "context".
  static rapidjson::Document& document(Notification& n) noexcept { return n.doc_; }
  static const rapidjson::Document& document(const Notification& n) noexcept { return n.doc_; }
};

}  // namespace herald::detail
