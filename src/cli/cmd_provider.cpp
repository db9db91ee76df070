// `cmkfs provider list`: the provider plugins this cmkfs can load.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "keys/key_provider.h"

namespace cmkfs::cli {
namespace {

struct ListOptions {
    std::string output = "table";
    std::vector<std::string> dirs;
};

void run_list(const ListOptions &o) {
    std::vector<std::string> dirs = o.dirs.empty() ? keys::default_plugin_dirs() : o.dirs;
    auto plugins = keys::list_plugins(dirs);
    if (o.output == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &p : plugins)
            out.push_back({{"name", p.name},
                           {"abiVersion", p.abi_version},
                           {"path", p.path},
                           {"description", p.description}});
        std::cout << out.dump(2) << "\n";
        return;
    }
    size_t width = 4;
    for (const auto &p : plugins) width = std::max(width, p.name.size());
    std::printf("%-*s  %-3s  %s\n", static_cast<int>(width), "NAME", "ABI", "PATH");
    for (const auto &p : plugins)
        std::printf("%-*s  %-3u  %s\n", static_cast<int>(width), p.name.c_str(), p.abi_version,
                    p.path.c_str());
    if (plugins.empty()) {
        std::string searched;
        for (const auto &d : dirs) searched += (searched.empty() ? "" : ", ") + d;
        std::fprintf(stderr, "no provider plugins found in %s\n", searched.c_str());
    }
    std::fflush(stdout);
}

}  // namespace

void add_provider_command(CLI::App &app) {
    auto *provider = app.add_subcommand("provider", "Key provider plugins");
    provider->require_subcommand(1);
    auto o = std::make_shared<ListOptions>();
    auto *list = provider->add_subcommand("list", "List the provider plugins found");
    list->add_option("--output,-o", o->output, "table (default) or json")
        ->check(CLI::IsMember({"table", "json"}));
    list->add_option("--plugin-dir", o->dirs, "Search these directories instead of the defaults");
    list->callback([o] { run_list(*o); });
}

}  // namespace cmkfs::cli
