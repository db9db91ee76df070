#include <catch2/catch.hpp>

#include "config/config.h"

using cmkfs::config::drop_mount_tool_options;
using cmkfs::config::split_dash_o;

TEST_CASE("-o splitting keeps escapes in raw and removes them in text", "[config][dash_o]") {
    auto items = split_dash_o("config=/etc/a\\,b.yaml,,ro,fsname=x\\\\y");
    REQUIRE(items.size() == 3);
    CHECK(items[0].raw == "config=/etc/a\\,b.yaml");
    CHECK(items[0].text == "config=/etc/a,b.yaml");
    CHECK(items[1].raw == "ro");
    CHECK(items[2].raw == "fsname=x\\\\y");
    CHECK(items[2].text == "fsname=x\\y");
    CHECK(split_dash_o("").empty());
}

TEST_CASE("options only mount(8) and systemd act on never reach FUSE", "[config][mount_helper]") {
    // What mount(8) passes a helper for an fstab line with these options.
    CHECK(drop_mount_tool_options("rw,config=/etc/cmkfs/r.yaml,_netdev,nofail") == "config=/etc/cmkfs/r.yaml");
    CHECK(drop_mount_tool_options("rw,noexec,nosuid,nodev,check_interval=1s,_netdev,nofail,user") ==
          "noexec,nosuid,nodev,check_interval=1s");
    CHECK(drop_mount_tool_options("defaults,auto,noauto,users,nouser,owner,group,user=alice,comment=x,"
                                  "x-systemd.requires=a.service,X-mount.mkdir=0700") == "");
}

TEST_CASE("options FUSE and cmkfs understand are kept as given", "[config][mount_helper]") {
    CHECK(drop_mount_tool_options("ro,allow_other,default_permissions,max_read=131072") ==
          "ro,allow_other,default_permissions,max_read=131072");
    // An escaped comma stays escaped and does not split the value.
    CHECK(drop_mount_tool_options("config=/etc/a\\,rw.yaml,rw") == "config=/etc/a\\,rw.yaml");
    // Names are matched whole: these only look like mount(8)'s.
    CHECK(drop_mount_tool_options("rwx,nofail2,users_x,auto_unmount") == "rwx,nofail2,users_x,auto_unmount");
}
