// The Prometheus text exposition format, version 0.0.4: the writer that
// /metrics and `cmkfs stats` use, and a strict reader of it (for the table
// of `cmkfs stats --output table`, and for the tests).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"

namespace cmkfs::metrics {

inline constexpr const char *kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// "# HELP", "# TYPE", then the samples of each family; label values escaped
// (\\, \", \n), HELP text escaped (\\, \n). Families without samples keep
// their HELP and TYPE lines.
std::string write_exposition(const std::vector<FamilySnapshot> &families);

// A value as the format spells it: integers without a fraction, +Inf, -Inf, NaN.
std::string format_value(double v);

struct ParsedExposition {
    std::map<std::string, std::string> help;  // family name -> unescaped text
    std::map<std::string, std::string> type;  // family name -> counter|gauge|histogram|...
    std::vector<Sample> samples;              // in order, label values unescaped
};

// Throws std::invalid_argument("line N: ...") on anything malformed.
ParsedExposition parse_exposition(std::string_view text);

}  // namespace cmkfs::metrics
