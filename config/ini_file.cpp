#include "config/ini_file.hpp"

#include "config/oslo_options.hpp"

#include <herald/error.hpp>

#include <algorithm>

namespace herald::detail {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view strip_right(std::string_view s) {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return strip_right(s);
}

class Parser {
 public:
  explicit Parser(const std::string& file_name) : file_name_(file_name) {}

  std::vector<IniAssignment> run(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
    std::size_t pos = 0;
    while (pos <= text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      ++line_;
      handle(strip_right(text.substr(pos, end - pos)));
      if (end == text.size()) break;
      pos = end + 1;
    }
    commit_pending();
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(file_name_ + ":" + std::to_string(line_) + ": " + what);
  }

  void handle(std::string_view line) {
    if (line.empty()) {  // a blank line ends a multi-line value
      commit_pending();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!pending_) fail("unexpected continuation line (a line starting with a space continues a value)");
      pending_value_.push_back('\n');
      pending_value_.append(strip(line));
      return;
    }
    commit_pending();
    if (line.front() == '[') {
      if (line.back() != ']') fail("invalid section '" + std::string(line) + "' (must end with ])");
      if (line.size() <= 2) fail("empty section name");
      group_ = normalise_group_name(line.substr(1, line.size() - 2));
      return;
    }
    if (line.front() == '#' || line.front() == ';') return;
    const std::size_t equal = line.find('=');
    const std::size_t colon = line.find(':');
    if (equal == std::string_view::npos && colon == std::string_view::npos)
      fail("no '=' or ':' in assignment '" + std::string(line.substr(0, 40)) + "'");
    const std::size_t split = std::min(equal, colon);
    std::string_view key = strip(line.substr(0, split));
    if (key.empty()) fail("empty option name");
    if (group_.empty()) fail("option '" + std::string(key) + "' before any [section]");
    pending_ = true;
    pending_option_ = std::string(key);
    std::string_view value = strip(line.substr(split + 1));
    // One pair of matching quotes around the value on the key's line is removed (as oslo).
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    pending_value_ = std::string(value);
    pending_line_ = line_;
  }

  void commit_pending() {
    if (!pending_) return;
    pending_ = false;
    out_.push_back({group_, std::move(pending_option_), std::move(pending_value_), pending_line_});
  }

  const std::string& file_name_;
  int line_ = 0;
  std::string group_;
  bool pending_ = false;
  std::string pending_option_;
  std::string pending_value_;
  int pending_line_ = 0;
  std::vector<IniAssignment> out_;
};

}  // namespace

std::vector<IniAssignment> parse_ini(std::string_view text, const std::string& file_name) {
  return Parser(file_name).run(text);
}

}  // namespace herald::detail
