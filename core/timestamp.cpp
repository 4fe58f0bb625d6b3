// format_timestamp: oslo's str(timeutils.utcnow()), always with the six-digit fraction.

#include <herald/codec.hpp>

#include <chrono>

namespace herald {
namespace {

void put_digits(char* at, long long value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::string format_timestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(time);
  const auto day = floor<days>(micros);
  const year_month_day date{day};
  const hh_mm_ss<microseconds> clock{micros - day};

  // "YYYY-MM-DD HH:MM:SS.ffffff"; years outside 0..9999 (outside Python's datetime range too)
  // are clamped rather than widening the field.
  char text[] = "0000-00-00 00:00:00.000000";
  const int year = static_cast<int>(date.year());
  put_digits(text, year < 0 ? 0 : (year > 9999 ? 9999 : year), 4);
  put_digits(text + 5, static_cast<unsigned>(date.month()), 2);
  put_digits(text + 8, static_cast<unsigned>(date.day()), 2);
  put_digits(text + 11, clock.hours().count(), 2);
  put_digits(text + 14, clock.minutes().count(), 2);
  put_digits(text + 17, clock.seconds().count(), 2);
  put_digits(text + 20, clock.subseconds().count(), 6);
  return {text, sizeof text - 1};
}

}  // namespace herald
