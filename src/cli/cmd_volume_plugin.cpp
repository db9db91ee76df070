// cmkfs volume-plugin [--config FILE] [--socket PATH]
// A Docker volume plugin: answers Docker's VolumeDriver protocol on a unix
// socket until SIGTERM or SIGINT. Mounts outlive the plugin (their daemons
// are independent), so a restart does not disturb running containers.
#include <csignal>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/plugin_driver.h"
#include "cli/plugin_http.h"
#include "cli/plugin_metrics.h"
#include "cli/volume_access.h"
#include "config/logging.h"

namespace cmkfs::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int /*signal*/) { g_stop.store(true); }

HttpResponse answer(VolumeDriver &driver, const HttpRequest &request) {
    if (request.method != "POST") return {405, R"({"Err":"only POST is supported"})"};
    nlohmann::json body = nlohmann::json::object();
    if (!request.body.empty()) {
        body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded()) return {400, R"({"Err":"the request body is not JSON"})"};
    }
    const nlohmann::json reply = driver.handle(request.path, body);
    spdlog::debug("{} -> {}", request.path, reply.dump());
    return {200, reply.dump()};
}

void run_volume_plugin(const std::string &config_path, const std::string &socket_override) {
    const config::Config cfg = load_config_or_default(config_path);
    config::setup_logging(cfg.logging, true);
    config::VolumePluginConfig plugin = cfg.volume_plugin;
    if (!socket_override.empty()) plugin.socket = absolute_path(socket_override);
    const std::string socket_dir = std::filesystem::path(plugin.socket).parent_path();
    std::filesystem::create_directories(socket_dir);

    struct sigaction sa {};
    sa.sa_handler = request_stop;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    VolumeDriver driver(plugin, config_path.empty() ? "" : absolute_path(config_path));
    const PluginMetrics metrics(driver, plugin.metrics_listen);
    if (!metrics.address().empty()) spdlog::info("cmkfs volume plugin metrics on {}", metrics.address());
    PluginHttpServer server(plugin.socket, [&](const HttpRequest &r) { return answer(driver, r); });
    spdlog::info("cmkfs volume plugin listening on {} (volumes in {}, mounts in {}/mounts)", plugin.socket,
                 plugin.root, plugin.state_dir);
    server.serve(g_stop);
    spdlog::info("cmkfs volume plugin stopping; mounted volumes stay mounted");
}

}  // namespace

void add_volume_plugin_command(CLI::App &app) {
    auto config_path = std::make_shared<std::string>();
    auto socket = std::make_shared<std::string>();
    CLI::App *cmd = app.add_subcommand("volume-plugin", "Serve Docker's volume plugin protocol (docker volume create -d cmkfs)");
    cmd->add_option("--config", *config_path, "YAML config file (section volume_plugin)");
    cmd->add_option("--socket", *socket, "Plugin socket (default: volume_plugin.socket)");
    cmd->callback([config_path, socket] { run_volume_plugin(*config_path, *socket); });
}

}  // namespace cmkfs::cli
