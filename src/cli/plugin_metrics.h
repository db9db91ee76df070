// The Docker volume plugin's own /metrics: how many volumes it holds, how many
// are mounted and how many Docker mount references they carry. Served when
// the plugin's config sets metrics.listen (the same server and format as a
// mount's endpoint, docs/metrics.md).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli/plugin_driver.h"
#include "metrics/http_server.h"
#include "metrics/registry.h"

namespace cmkfs::cli {

class PluginMetrics {
public:
    // Registers the gauges (read from the driver at every scrape) and, when
    // `listen` is set, starts the endpoint. Throws SystemError naming the
    // address when it cannot listen.
    PluginMetrics(VolumeDriver &driver, const std::optional<std::string> &listen);

    // The address served, empty when there is no endpoint.
    std::string address() const { return server_ ? server_->address() : std::string(); }

private:
    metrics::Gauge &volumes_;
    metrics::Family<metrics::Gauge> &mounts_;
    metrics::CollectHook hook_;
    std::unique_ptr<metrics::HttpServer> server_;
};

}  // namespace cmkfs::cli
