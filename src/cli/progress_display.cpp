#include "cli/progress_display.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace cmkfs::cli {

namespace {

using namespace std::chrono_literals;
constexpr auto kTtyInterval = 100ms;
constexpr auto kLineInterval = 2s;
constexpr int kBarWidth = 24;

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// How far along, 0..1, from files and bytes together: small files are
// dominated by their count, large (or sparse) ones by their bytes.
double fraction_done(const ProgressSample &s) {
    double parts = 0, sum = 0;
    if (s.files_total > 0) {
        sum += std::min(1.0, static_cast<double>(s.files) / static_cast<double>(s.files_total));
        ++parts;
    }
    if (s.bytes_total > 0) {
        sum += std::min(1.0, static_cast<double>(s.bytes) / static_cast<double>(s.bytes_total));
        ++parts;
    }
    return parts > 0 ? sum / parts : -1;
}

}  // namespace

std::string human_bytes(double bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return buf;
}

std::string human_duration(std::chrono::steady_clock::duration d) {
    const auto total = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    char buf[32];
    if (total >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                      static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(total / 60),
                      static_cast<long long>(total % 60));
    return buf;
}

ProgressDisplay::ProgressDisplay(std::string verb, bool lines_without_tty)
    : verb_(std::move(verb)), tty_(::isatty(STDERR_FILENO) != 0), lines_(lines_without_tty),
      started_(std::chrono::steady_clock::now()), phase_started_(started_), last_(started_) {}

ProgressDisplay::~ProgressDisplay() { clear(); }

void ProgressDisplay::restart(std::string verb) {
    verb_ = std::move(verb);
    phase_started_ = last_ = std::chrono::steady_clock::now();
    have_base_ = false;
    // A log shows each phase starting, however short it turns out to be.
    if (!tty_ && lines_) std::fprintf(stderr, "%s\n", verb_.c_str());
}

void ProgressDisplay::clear() {
    if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
}

void ProgressDisplay::update(const ProgressSample &sample) {
    if (!have_base_) {
        base_ = sample;
        have_base_ = true;
    }
    if (!tty_ && !lines_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < (tty_ ? kTtyInterval : kLineInterval)) return;
    last_ = now;
    if (tty_) {
        std::fprintf(stderr, "\r\033[K%s", format(sample, true).c_str());
        drawn_ = true;
    } else {
        std::fprintf(stderr, "%s\n", format(sample, false).c_str());
    }
    std::fflush(stderr);
}

std::string ProgressDisplay::format(const ProgressSample &s, bool bar) const {
    const double elapsed = seconds(std::chrono::steady_clock::now() - phase_started_);
    const double fraction = fraction_done(s);
    const double base_fraction = std::max(0.0, fraction_done(base_));
    std::string line = verb_;
    if (bar && fraction >= 0) {
        const int filled = static_cast<int>(fraction * kBarWidth);
        line += " [" + std::string(static_cast<size_t>(filled), '#') +
                std::string(static_cast<size_t>(kBarWidth - filled), '.') + "]";
    }
    line += " " + std::to_string(s.files);
    if (s.files_total > 0) line += "/" + std::to_string(s.files_total);
    line += " files, " + std::to_string(s.directories) + " dirs, " + human_bytes(static_cast<double>(s.bytes));
    if (s.bytes_total > 0) line += "/" + human_bytes(static_cast<double>(s.bytes_total));
    if (elapsed > 0) {
        const double bytes_now = static_cast<double>(s.bytes - std::min(s.bytes, base_.bytes));
        const double files_now = static_cast<double>(s.files - std::min(s.files, base_.files));
        line += ", " + human_bytes(bytes_now / elapsed) + "/s, " + std::to_string(static_cast<uint64_t>(files_now / elapsed)) +
                " files/s";
    }
    const double progress = fraction - base_fraction;  // made by this phase
    if (fraction > 0.0 && fraction < 1.0 && progress > 0.0) {
        const auto remaining = std::chrono::duration<double>(elapsed * (1 - fraction) / progress);
        line += ", ETA " + human_duration(std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining));
    }
    return line;
}

}  // namespace cmkfs::cli
