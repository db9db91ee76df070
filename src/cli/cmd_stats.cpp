// cmkfs stats MOUNTPOINT [--output table|prometheus]: the mount's metrics
// (docs/metrics.md), read over its control socket, so they are there whether
// or not the mount serves a /metrics endpoint.
#include <algorithm>
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/mount_table.h"
#include "daemon/control_socket.h"
#include "metrics/exposition.h"

namespace cmkfs::cli {

namespace {

struct StatsArgs {
    std::string target;
    std::string output = "table";
};

std::string sample_key(const metrics::Sample &s) {
    std::string key = s.name;
    if (s.labels.empty()) return key;
    key += '{';
    for (size_t i = 0; i < s.labels.size(); ++i) {
        if (i > 0) key += ", ";
        key += s.labels[i].first + "=" + s.labels[i].second;
    }
    return key + '}';
}

// One line per series, histograms as their _count and _sum (the buckets are
// for Prometheus). Label values are printed as they are: none is a secret.
void print_table(const std::string &text) {
    const metrics::ParsedExposition parsed = metrics::parse_exposition(text);
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto &s : parsed.samples) {
        if (s.name.size() > 7 && s.name.compare(s.name.size() - 7, 7, "_bucket") == 0) continue;
        rows.emplace_back(sample_key(s), metrics::format_value(s.value));
    }
    size_t width = 0;
    for (const auto &r : rows) width = std::max(width, r.first.size());
    for (const auto &[key, value] : rows) std::cout << key << std::string(width - key.size() + 2, ' ') << value << "\n";
}

void run_stats(const StatsArgs &args) {
    auto mount = find_cmkfs_mount(args.target);
    if (!mount) throw CommandError(kNotMounted, args.target + " is not a cmkfs mount");
    auto reply = daemon::control_request(mount->mountpoint, {{"op", "stats"}});
    if (!reply.value("ok", false)) throw CommandError(kFailure, reply.value("error", "stats failed"));
    const std::string text = reply.at("metrics").get<std::string>();
    if (args.output == "prometheus") std::cout << text;
    else print_table(text);
}

}  // namespace

void add_stats_command(CLI::App &app) {
    auto args = std::make_shared<StatsArgs>();
    CLI::App *cmd = app.add_subcommand("stats", "Print a mount's metrics (key state, checks, operations, I/O)");
    cmd->add_option("MOUNTPOINT", args->target, "The mountpoint")->required();
    cmd->add_option("--output", args->output, "table (default) or prometheus (the text exposition format)")
        ->check(CLI::IsMember({"table", "prometheus"}));
    cmd->callback([args] { run_stats(*args); });
}

}  // namespace cmkfs::cli
