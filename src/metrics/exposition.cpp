#include "metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace cmkfs::metrics {

namespace {

void append_escaped(std::string &out, std::string_view s, bool quote) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (quote && c == '"') out += "\\\"";
        else out += c;
    }
}

void append_sample(std::string &out, const Sample &s) {
    out += s.name;
    if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
            if (i > 0) out += ',';
            out += s.labels[i].first;
            out += "=\"";
            append_escaped(out, s.labels[i].second, true);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    out += format_value(s.value);
    out += '\n';
}

[[noreturn]] void bad(size_t line, const std::string &what) {
    throw std::invalid_argument("line " + std::to_string(line) + ": " + what);
}

// Reads one line's sample: name, optional {labels}, value, optional timestamp.
Sample parse_sample(std::string_view l, size_t line_no) {
    Sample s;
    size_t i = 0;
    while (i < l.size() && l[i] != '{' && l[i] != ' ' && l[i] != '\t') ++i;
    s.name = std::string(l.substr(0, i));
    if (!valid_metric_name(s.name)) bad(line_no, "invalid metric name '" + s.name + "'");
    if (i < l.size() && l[i] == '{') {
        ++i;
        for (;;) {
            while (i < l.size() && l[i] == ' ') ++i;
            if (i < l.size() && l[i] == '}') {
                ++i;
                break;
            }
            size_t start = i;
            while (i < l.size() && l[i] != '=') ++i;
            std::string name(l.substr(start, i - start));
            while (!name.empty() && name.back() == ' ') name.pop_back();
            if (!valid_label_name(name) && name != "le") bad(line_no, "invalid label name '" + name + "'");
            if (i + 1 >= l.size() || l[i + 1] != '"') bad(line_no, "expected =\" after label " + name);
            i += 2;
            std::string value;
            for (;;) {
                if (i >= l.size()) bad(line_no, "unterminated label value");
                char c = l[i++];
                if (c == '"') break;
                if (c == '\\') {
                    if (i >= l.size()) bad(line_no, "dangling escape");
                    char e = l[i++];
                    if (e == 'n') value += '\n';
                    else if (e == '\\' || e == '"') value += e;
                    else bad(line_no, std::string("unknown escape \\") + e);
                } else {
                    value += c;
                }
            }
            s.labels.emplace_back(std::move(name), std::move(value));
            while (i < l.size() && l[i] == ' ') ++i;
            if (i < l.size() && l[i] == ',') {
                ++i;
                continue;
            }
            if (i < l.size() && l[i] == '}') {
                ++i;
                break;
            }
            bad(line_no, "expected , or } in labels");
        }
    }
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    size_t start = i;
    while (i < l.size() && l[i] != ' ' && l[i] != '\t') ++i;
    const std::string value(l.substr(start, i - start));
    if (value == "+Inf") s.value = INFINITY;
    else if (value == "-Inf") s.value = -INFINITY;
    else if (value == "NaN") s.value = NAN;
    else {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s.value);
        if (ec != std::errc() || end != value.data() + value.size() || value.empty())
            bad(line_no, "invalid value '" + value + "'");
    }
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    if (i < l.size()) {  // a timestamp: an integer (milliseconds)
        int64_t ts = 0;
        auto [end, ec] = std::from_chars(l.data() + i, l.data() + l.size(), ts);
        if (ec != std::errc() || end != l.data() + l.size()) bad(line_no, "trailing text after the value");
    }
    return s;
}

std::string unescape_help(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
            out += s[i + 1] == 'n' ? '\n' : '\\';
            ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
        return std::string(buf, end);
    }
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

std::string write_exposition(const std::vector<FamilySnapshot> &families) {
    std::string out;
    for (const auto &f : families) {
        out += "# HELP " + f.name + ' ';
        append_escaped(out, f.help, false);
        out += "\n# TYPE " + f.name + ' ' + to_string(f.type) + '\n';
        for (const auto &s : f.samples) append_sample(out, s);
    }
    return out;
}

ParsedExposition parse_exposition(std::string_view text) {
    ParsedExposition parsed;
    size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const size_t nl = text.find('\n');
        if (nl == std::string_view::npos) bad(line_no, "missing final newline");
        std::string_view l = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (l.empty()) continue;
        if (l[0] == '#') {
            for (const char *kind : {"# HELP ", "# TYPE "}) {
                const std::string_view k(kind);
                if (l.substr(0, k.size()) != k) continue;
                std::string_view rest = l.substr(k.size());
                const size_t sp = rest.find(' ');
                const std::string name(rest.substr(0, sp));
                if (!valid_metric_name(name)) bad(line_no, "invalid metric name in comment");
                const std::string_view body = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
                auto &map = k[2] == 'H' ? parsed.help : parsed.type;
                if (map.count(name)) bad(line_no, std::string(kind) + "given twice for " + name);
                map[name] = k[2] == 'H' ? unescape_help(body) : std::string(body);
            }
            continue;
        }
        parsed.samples.push_back(parse_sample(l, line_no));
    }
    return parsed;
}

}  // namespace cmkfs::metrics
