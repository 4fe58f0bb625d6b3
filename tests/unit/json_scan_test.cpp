// The codec's one byte-class scan (core/json_scan.hpp): every byte value at every offset of the
// 16-byte blocks, the 8-byte words and the bytewise tail, for each stop set.
#include "core/json_scan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace herald::detail {
namespace {

// The sets as the JSON and Python specifications state them, independently of the scanner.
bool json_syntax(unsigned char b) { return b == '"' || b == '\\' || b < 0x20; }
bool json_ascii(unsigned char b) { return json_syntax(b) || b >= 0x80; }
bool python_ascii(unsigned char b) { return json_ascii(b) || b == 0x7F; }

template <StopAt Set>
void check_every_byte_at_every_offset(bool (*stops)(unsigned char)) {
  for (std::size_t length : {1u, 7u, 8u, 15u, 16u, 17u, 31u, 40u}) {
    for (std::size_t at = 0; at < length; ++at) {
      for (unsigned byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        // A stopping byte after the first one must not hide it (the SWAR borrow flags bytes
        // above a hit falsely).
        if (at + 1 < length) text[at + 1] = '\x01';
        const std::size_t expected = stops(static_cast<unsigned char>(byte)) ? at : (at + 1 < length ? at + 1 : length);
        ASSERT_EQ(plain_run_length<Set>(text.data(), text.size()), expected)
            << "byte " << byte << " at " << at << " of " << length;
      }
    }
  }
  EXPECT_EQ(plain_run_length<Set>("", 0), 0u);
  // Never reads past `size`: the stopping byte just beyond is not seen.
  const std::string text = std::string(20, 'x') + '"';
  EXPECT_EQ(plain_run_length<Set>(text.data(), 20), 20u);
}

TEST(JsonScan, JsonSyntaxStopsAtQuoteBackslashAndControlsOnly) {
  check_every_byte_at_every_offset<StopAt::json_syntax>(json_syntax);
}
TEST(JsonScan, NonAsciiSetAlsoStopsAtEveryByteFrom0x80) {
  check_every_byte_at_every_offset<StopAt::json_syntax_and_non_ascii>(json_ascii);
}
TEST(JsonScan, PythonAsciiSetAlsoStopsAtDel) {
  check_every_byte_at_every_offset<StopAt::python_ascii_escapes>(python_ascii);
}

}  // namespace
}  // namespace herald::detail
