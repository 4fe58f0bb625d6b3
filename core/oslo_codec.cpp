// oslo.messaging 14 notification bodies (rabbit driver): v1 dict and v2 envelope.
// Wire format: docs in include/herald/codec.hpp and the reference, sections 1.5 and 3.

#include "core/json_parse.hpp"
#include "core/notification_access.hpp"
#include "core/oslo_envelope.hpp"
#include "core/python_json.hpp"

#include <herald/codec.hpp>
#include <herald/error.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <system_error>

namespace herald {
namespace {

constexpr std::string_view kContextPrefix = "_context_";
constexpr std::string_view kEnvelopeVersion = "oslo.version";
constexpr std::string_view kEnvelopeMessage = "oslo.message";

// ---------------------------------------------------------------------------------------------
// encode

template <bool Nested>
void write_message(const Notification& notification, std::string& out) {
  detail::PythonJsonWriter<Nested> writer(out);
  bool first = true;
  const auto key = [&](std::string_view name) {
    if (!first) out.append(", ", 2);
    first = false;
    writer.quote();
    writer.raw(name);
    writer.quote();
    out.append(": ", 2);
  };

  out.push_back('{');
  // oslo always sends message_id and timestamp; an empty one is left out (oslo accepts that, see
  // vectors/herald-sent-body_v2_min.json) rather than sent as "".
  if (!notification.message_id.empty()) {
    key("message_id");
    writer.string(notification.message_id);
  }
  key("publisher_id");
  if (notification.publisher_id.empty())
    writer.raw("null");
  else
    writer.string(notification.publisher_id);
  key("event_type");
  writer.string(notification.event_type);
  key("priority");
  writer.quote();
  writer.raw(to_upper_string(notification.priority));
  writer.quote();
  key("payload");
  writer.value(notification.payload(), 2);
  if (!notification.timestamp.empty()) {
    key("timestamp");
    writer.string(notification.timestamp);
  }
  if (!notification.unique_id.empty()) {
    key("_unique_id");
    writer.string(notification.unique_id);
  }
  for (const auto& member : notification.context().GetObject()) {
    out.append(", ", 2);
    writer.quote();
    writer.raw(kContextPrefix);
    writer.string_body({member.name.GetString(), member.name.GetStringLength()});
    writer.quote();
    out.append(": ", 2);
    writer.value(member.value, 2);
  }
  out.push_back('}');
}

// ---------------------------------------------------------------------------------------------
// decode

const char* type_name(const rapidjson::Value& value) noexcept {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "unknown";
}

std::string_view view_of(const rapidjson::Value& string) noexcept {
  return {string.GetString(), string.GetStringLength()};
}

// A field value fit for an error message: bounded, printable ASCII only.
std::string quoted_for_error(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  out += text.size() > kMax ? "...'" : "'";
  return out;
}

// A string field: string → its text; null → empty; anything else → DecodeError.
void read_string_field(const rapidjson::Value& value, std::string_view field, std::string& target) {
  if (value.IsString())
    target.assign(value.GetString(), value.GetStringLength());
  else if (value.IsNull())
    target.clear();
  else
    throw DecodeError("notification field '" + std::string(field) + "' must be a string or null, got " +
                      type_name(value));
}

// One dot-separated version component as Python's int() reads plain digits; -1 if it is not.
long version_component(std::string_view text) noexcept {
  long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return (text.empty() || error != std::errc{} || end != text.data() + text.size() || value < 0) ? -1 : value;
}

// oslo's _utils.version_is_compatible("2.0", version): same major, minor <= 0 and, when present,
// revision <= 0; parts after the third are ignored. "2" (no minor) fails there with IndexError,
// which rejects the message too.
void check_envelope_version(const rapidjson::Value& version) {
  if (!version.IsString())
    throw DecodeError(Errc::unsupported_version,
                      std::string("oslo.version must be a string, got ") + type_name(version));
  const std::string_view text = view_of(version);
  long parts[3] = {-1, -1, 0};
  std::size_t start = 0;
  for (std::size_t index = 0; index < 3 && start <= text.size(); ++index) {
    const std::size_t dot = text.find('.', start);
    parts[index] = version_component(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    start = dot == std::string_view::npos ? text.size() + 1 : dot + 1;
  }
  if (parts[0] != 2 || parts[1] != 0 || parts[2] != 0)
    throw DecodeError(Errc::unsupported_version,
                      "unsupported oslo.version " + quoted_for_error(text) + " (must be compatible with 2.0)");
}

// Loose check of oslo's str(datetime) form "YYYY-MM-DD HH:MM:SS[.ffffff]" (a 'T' separator and a
// trailing zone are tolerated): enough to catch a field of the wrong kind, not a calendar check.
bool looks_like_timestamp(std::string_view text) noexcept {
  constexpr std::string_view kShape = "dddd-dd-dd?dd:dd:dd";
  if (text.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    const char c = text[i];
    const char expected = kShape[i];
    if (expected == 'd'   ? !std::isdigit(static_cast<unsigned char>(c))
        : expected == '?' ? (c != ' ' && c != 'T')
                          : c != expected)
      return false;
  }
  std::string_view rest = text.substr(kShape.size());
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 1) return false;
    rest.remove_prefix(digits);
  }
  if (rest.empty() || rest == "Z") return true;
  if (rest.front() != '+' && rest.front() != '-') return false;
  rest.remove_prefix(1);
  for (char c : rest)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ':') return false;
  return true;
}

Priority read_priority(const rapidjson::Value* value) {
  if (value == nullptr || value->IsNull()) throw DecodeError(Errc::unknown_priority, "notification has no priority");
  if (!value->IsString())
    throw DecodeError(std::string("notification field 'priority' must be a string, got ") + type_name(*value));
  const std::string_view text = view_of(*value);
  if (auto priority = parse_priority(text)) return *priority;
  throw DecodeError(Errc::unknown_priority, "unknown notification priority " + quoted_for_error(text));
}

// Turns the parsed message dict (the document's root) into the Notification's fields and its
// {"payload", "context"} root, moving JSON values instead of copying them.
void restructure(Notification& notification, rapidjson::Document& document) {
  rapidjson::Value message;
  message.Swap(document);  // the document's root is now null; its allocator still owns everything
  auto& allocator = document.GetAllocator();
  rapidjson::Value payload;
  rapidjson::Value context(rapidjson::kObjectType);
  const rapidjson::Value* priority = nullptr;

  for (auto& member : message.GetObject()) {
    const std::string_view name = view_of(member.name);
    if (name.size() > 1 && name[0] == '_') {
      if (name.substr(0, kContextPrefix.size()) == kContextPrefix) {
        rapidjson::Value key(name.data() + kContextPrefix.size(),
                             static_cast<rapidjson::SizeType>(name.size() - kContextPrefix.size()), allocator);
        context.AddMember(key, member.value, allocator);
      } else if (name == "_unique_id") {
        read_string_field(member.value, name, notification.unique_id);
      }
      // oslo's unpack_context also pops _msg_id, _reply_q and _timeout; other keys are unused.
      continue;
    }
    if (name == "payload") {
      payload = member.value;  // move
    } else if (name == "priority") {
      priority = &member.value;
    } else if (name == "event_type") {
      read_string_field(member.value, name, notification.event_type);
    } else if (name == "publisher_id") {
      read_string_field(member.value, name, notification.publisher_id);
    } else if (name == "message_id") {
      read_string_field(member.value, name, notification.message_id);
    } else if (name == "timestamp") {
      read_string_field(member.value, name, notification.timestamp);
      if (!notification.timestamp.empty() && !looks_like_timestamp(notification.timestamp))
        throw DecodeError("notification field 'timestamp' is not of the form 'YYYY-MM-DD HH:MM:SS[.ffffff]': " +
                          quoted_for_error(notification.timestamp));
    }
  }
  notification.priority = read_priority(priority);

  document.SetObject();
  document.AddMember("payload", payload, allocator);
  document.AddMember("context", context, allocator);
}

// Size of the last body encoded on this thread, plus some slack: one application's bodies are
// much alike, so reserving that much usually spares regrowing (and copying) the output.
thread_local std::size_t encoded_size_hint = 512;

}  // namespace

void encode(const Notification& notification, EnvelopeVersion version, std::string& out) {
  if (!notification.context().IsObject()) throw ArgumentError("notification context must be a JSON object");
  const std::size_t original_size = out.size();
  out.reserve(original_size + encoded_size_hint);
  try {
    if (version == EnvelopeVersion::v2) {
      out.append(detail::kV2EnvelopePrefix);
      write_message<true>(notification, out);
      out.append(detail::kV2EnvelopeSuffix);
    } else {
      write_message<false>(notification, out);
    }
  } catch (...) {
    out.resize(original_size);  // leave the caller's buffer as it was
    throw;
  }
  encoded_size_hint = std::clamp<std::size_t>(out.size() - original_size + 64, 512, 64 * 1024);
}

std::string encode(const Notification& notification, EnvelopeVersion version) {
  std::string out;
  encode(notification, version, out);
  return out;
}

Notification decode(std::string_view body) {
  Notification notification;
  rapidjson::Document& document = detail::NotificationAccess::document(notification);

  // Nearly every body is a v2 envelope laid out exactly as oslo writes it: unescape its message
  // directly instead of parsing the outer JSON (which would copy the message once more).
  if (auto message = detail::unescape_canonical_v2(body, document.GetAllocator())) {
    // The unescaped text is this decode's own writable buffer: parse it in place.
    detail::parse_insitu_json_into(document, const_cast<char*>(message->data()), message->size(), "oslo.message");
    if (!document.IsObject())
      throw DecodeError(std::string("oslo.message must hold a JSON object, got ") + type_name(document));
    restructure(notification, document);
    return notification;
  }

  detail::parse_json_into(document, body, "message body");
  if (!document.IsObject())
    throw DecodeError(std::string("message body must be a JSON object, got ") + type_name(document));

  const rapidjson::Value* version = nullptr;
  const rapidjson::Value* message = nullptr;
  for (const auto& member : document.GetObject()) {
    const std::string_view name = view_of(member.name);
    if (name == kEnvelopeVersion) version = &member.value;
    if (name == kEnvelopeMessage) message = &member.value;
  }
  if (version != nullptr && message != nullptr) {  // v2; otherwise the body is the v1 dict itself
    check_envelope_version(*version);
    if (!message->IsString())
      throw DecodeError(std::string("oslo.message must be a JSON string, got ") + type_name(*message));
    // Parsed in place from the outer document's pool (RapidJSON strings are NUL-terminated); the
    // outer parse has validated its UTF-8.
    detail::parse_terminated_json_into(document, view_of(*message), detail::Utf8::known_valid, "oslo.message");
    if (!document.IsObject())
      throw DecodeError(std::string("oslo.message must hold a JSON object, got ") + type_name(document));
  }
  restructure(notification, document);
  return notification;
}

}  // namespace herald
