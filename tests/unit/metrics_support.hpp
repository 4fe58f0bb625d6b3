#pragma once
// Reads one sample out of Prometheus text (Metrics::serialize()), for the metrics tests.

#include <optional>
#include <sstream>
#include <string>

namespace herald::test {

/// The value of the sample `series` (e.g. `herald_notifications_sent_total{priority="info"}`,
/// labels exactly as the text format prints them), or nullopt when absent.
inline std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

}  // namespace herald::test
