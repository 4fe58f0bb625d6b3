#include "core/json_parse.hpp"

#include <herald/codec.hpp>
#include <herald/error.hpp>
#include <herald/notification.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace herald {
namespace {

void init_root(rapidjson::Document& doc) {
  doc.SetObject();
  doc.AddMember("payload", rapidjson::Value(rapidjson::kObjectType), doc.GetAllocator());
  doc.AddMember("context", rapidjson::Value(rapidjson::kObjectType), doc.GetAllocator());
}

std::string to_json(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

Notification::Notification() { init_root(doc_); }

Notification::Notification(const Notification& other)
    : message_id(other.message_id),
      publisher_id(other.publisher_id),
      event_type(other.event_type),
      priority(other.priority),
      timestamp(other.timestamp),
      unique_id(other.unique_id),
      delivery_count(other.delivery_count) {
  doc_.CopyFrom(other.doc_, doc_.GetAllocator());
}

Notification& Notification::operator=(const Notification& other) {
  if (this != &other) {
    Notification copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Notification::Notification(Notification&& other) noexcept = default;
Notification& Notification::operator=(Notification&& other) noexcept = default;
Notification::~Notification() = default;

rapidjson::Value& Notification::payload() noexcept { return doc_.MemberBegin()[0].value; }
const rapidjson::Value& Notification::payload() const noexcept { return doc_.MemberBegin()[0].value; }
rapidjson::Value& Notification::context() noexcept { return doc_.MemberBegin()[1].value; }
const rapidjson::Value& Notification::context() const noexcept { return doc_.MemberBegin()[1].value; }
rapidjson::Document::AllocatorType& Notification::allocator() noexcept { return doc_.GetAllocator(); }

// Parsed straight into this notification's pool and moved into place: no second document and
// no deep copy (the values were allocated where they end up).
void Notification::set_payload_json(std::string_view json) {
  rapidjson::Document parsed(&doc_.GetAllocator());
  detail::parse_json_into(parsed, json, "payload");
  payload().Swap(parsed);
}

void Notification::set_context_json(std::string_view json) {
  rapidjson::Document parsed(&doc_.GetAllocator());
  detail::parse_json_into(parsed, json, "context");
  if (!parsed.IsObject()) throw DecodeError("context must be a JSON object");
  context().Swap(parsed);
}

void Notification::set_payload(const rapidjson::Value& value) { payload().CopyFrom(value, doc_.GetAllocator()); }

void Notification::set_context(const rapidjson::Value& value) {
  if (!value.IsObject()) throw ArgumentError("context must be a JSON object");
  context().CopyFrom(value, doc_.GetAllocator());
}

std::string Notification::payload_json() const { return to_json(payload()); }
std::string Notification::context_json() const { return to_json(context()); }

}  // namespace herald
