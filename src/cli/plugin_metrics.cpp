#include "cli/plugin_metrics.h"

#include "metrics/exposition.h"
#include "metrics/listen_address.h"

namespace cmkfs::cli {

PluginMetrics::PluginMetrics(VolumeDriver &driver, const std::optional<std::string> &listen)
    : volumes_(metrics::registry().gauge("cmkfs_volume_plugin_volumes", "Docker volumes the cmkfs volume plugin holds.")),
      mounts_(metrics::registry().gauge_family(
          "cmkfs_volume_plugin_mounts",
          "The plugin's mounts: kind=\"volumes\" counts mounted volumes, kind=\"references\" the Docker mount IDs on them.",
          {"kind"})),
      hook_(metrics::registry().on_collect([this, &driver] {
          const VolumePluginCounts counts = driver.counts();
          volumes_.set(static_cast<int64_t>(counts.volumes));
          mounts_.with({"volumes"}).set(static_cast<int64_t>(counts.mounted_volumes));
          mounts_.with({"references"}).set(static_cast<int64_t>(counts.mount_references));
      })) {
    if (listen)
        server_ = std::make_unique<metrics::HttpServer>(metrics::parse_listen_address(*listen), [] {
            return metrics::write_exposition(metrics::registry().collect());
        });
}

}  // namespace cmkfs::cli
