// `cmkfs volume-plugin` with a real Docker engine (issue 15 §1): Debian's
// dockerd (one per test binary) finds the plugin through a spec file, creates
// cmkfs stores with `docker volume create -d`, mounts them for containers and
// counts the containers' mounts; the key's revocation reaches a running
// container as EACCES and its restore resumes it; a restarted plugin finds
// its mounts again; bad options and bad requests get clear errors.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "e2e/e2e_fixture.h"
#include "e2e/volume_plugin.h"
#include "support/dockerd.h"
#include "support/http_get.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

namespace {

namespace fs = std::filesystem;

// One engine and one image for every test case of this binary: dockerd
// takes seconds to start, the cases need nothing but a fresh plugin.
struct Engine {
    TempDir dir;
    Dockerd dockerd{dir.path()};
    std::string image = dockerd.import_busybox("cmkfs-e2e-busybox");
};

Engine &engine() {
    static Engine e;
    return e;
}

// Where `cmkfs init` keeps a store's binding (CMKFS_VOLUMES_DIR); the plugins
// started after this inherit it. Never the real /etc/cmkfs/volumes.
std::string bindings_dir() {
    static const TempDir fallback;
    const char *env = std::getenv("CMKFS_VOLUMES_DIR");
    if (env != nullptr && *env != '\0') return env;
    ::setenv("CMKFS_VOLUMES_DIR", fallback.path().c_str(), 1);
    return fallback.path();
}

CommandResult container(const std::string &volume, const std::string &script) {
    return engine().dockerd.docker(
        {"run", "--rm", "--network", "none", "-v", volume + ":/data", engine().image, "sh", "-c", script});
}

nlohmann::json inspect_status(const std::string &volume) {
    return nlohmann::json::parse(engine().dockerd.docker_ok({"volume", "inspect", "--format", "{{json .Status}}", volume}));
}

// How many cmkfs mounts serve this backing directory (a store is mounted at
// most once however many containers use it).
int mounts_of(const std::string &backing) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    int n = 0;
    while (std::getline(in, line))
        if (line.find(" fuse.cmkfs " + backing + " ") != std::string::npos) ++n;
    return n;
}


std::string contents_of(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The `cmkfs mount` daemon serving `store` (found by its command line).
pid_t daemon_of(const std::string &store) {
    const std::string needle = std::string("mount") + '\0' + store + '\0';
    for (const auto &e : fs::directory_iterator("/proc")) {
        const std::string pid = e.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (contents_of(e.path().string() + "/cmdline").find(needle) != std::string::npos) return std::stoi(pid);
    }
    return -1;
}

}  // namespace

TEST_CASE("docker volume create, write in one container, read in another; ls, inspect, rm keeps the ciphertext",
          "[e2e][docker]") {
    TempDir work;
    const std::string bindings = bindings_dir();
    VolumePlugin plugin(work.path());
    auto &docker = engine().dockerd;
    const std::string secret = "cmkfs docker volume plaintext marker 7f3a9c";

    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o",
                      "key-encryption-key=" + plugin.vault().kid, "dv-notes"});
    auto write = container("dv-notes", "echo '" + secret + "' > /data/notes.txt && mkdir /data/subdir && "
                                       "echo '" + secret + "' > /data/subdir/copy.txt");
    INFO(write.err << plugin.log());
    REQUIRE(write.exit_code == 0);
    auto read = container("dv-notes", "cat /data/notes.txt /data/subdir/copy.txt");
    INFO(read.err);
    REQUIRE(read.exit_code == 0);
    CHECK(read.out == secret + "\n" + secret + "\n");

    // Unmounted once the containers are gone; the store shows neither
    // contents nor names.
    CHECK_FALSE(is_mounted(plugin.mountpoint("dv-notes")));
    CHECK(files_containing(plugin.store("dv-notes"), {secret}).empty());
    CHECK(names_containing(plugin.store("dv-notes"), {"notes", "subdir", "copy"}).empty());

    const std::string ls = docker.docker_ok({"volume", "ls", "--format", "{{.Driver}} {{.Name}}"});
    CHECK(ls.find(plugin.driver() + " dv-notes\n") != std::string::npos);
    const nlohmann::json status = inspect_status("dv-notes");
    INFO(status.dump(2));
    CHECK(status.at("keyVaultProperties").at("keyIdentifier") == plugin.vault().kid);
    CHECK(status.at("keyVaultProperties").at("versionedKeyIdentifier") == plugin.vault().kid);
    CHECK(status.at("keyVaultProperties").at("identity") == plugin.vault().identity);
    CHECK(status.at("keyState").at("state") == "accessible");
    CHECK(status.at("backing") == plugin.store("dv-notes"));

    // rm without removal asked for: gone from Docker, ciphertext kept aside
    // and named in the log; the binding stays with the store it binds.
    const std::string notes_binding = bindings + "/" + status.at("volumeId").get<std::string>() + ".yaml";
    if (!fs::exists(notes_binding)) write_file(notes_binding, "stand-in for the binding cmkfs init writes\n");
    docker.docker_ok({"volume", "rm", "dv-notes"});
    CHECK(fs::exists(notes_binding));
    CHECK_FALSE(fs::exists(plugin.volumes_dir() + "/dv-notes"));
    CHECK(docker.docker_ok({"volume", "ls", "-q"}).find("dv-notes") == std::string::npos);
    std::string kept;
    for (const auto &e : fs::directory_iterator(plugin.volumes_dir() + "/.removed"))
        if (e.path().filename().string().rfind("dv-notes-", 0) == 0) kept = e.path().string() + "/store";
    REQUIRE_FALSE(kept.empty());
    CHECK(plugin.log().find("its ciphertext is kept in " + kept) != std::string::npos);
    auto show = cli({"encryption", "show", kept});
    INFO(show.err);
    CHECK(show.exit_code == 0);  // still a store that opens with the key

    // rm with removal asked for at create: the store is deleted.
    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + plugin.vault().kid,
                      "-o", "remove-on-rm=true", "dv-scratch"});
    REQUIRE(container("dv-scratch", "echo x > /data/x").exit_code == 0);
    const std::string scratch_binding =
        bindings + "/" + inspect_status("dv-scratch").at("volumeId").get<std::string>() + ".yaml";
    if (!fs::exists(scratch_binding)) write_file(scratch_binding, "stand-in for the binding cmkfs init writes\n");
    docker.docker_ok({"volume", "rm", "dv-scratch"});
    CHECK_FALSE(fs::exists(plugin.volumes_dir() + "/dv-scratch"));
    CHECK_FALSE(fs::exists(scratch_binding));
    for (const auto &e : fs::directory_iterator(plugin.volumes_dir() + "/.removed"))
        CHECK(e.path().filename().string().rfind("dv-scratch", 0) != 0);
}

TEST_CASE("two containers share one mount of a volume; rm is refused while it is mounted", "[e2e][docker]") {
    TempDir work;
    const std::string metrics = "unix:" + work / "plugin-metrics.sock";
    VolumePlugin plugin(work.path(), "  metrics_listen: " + metrics + "\n");
    // The plugin's own gauges, as its /metrics endpoint shows them.
    auto gauge = [&](const std::string &sample) {
        const auto scrape = http_get(metrics, "/metrics");
        const size_t at = scrape.body.find("\n" + sample + " ");
        if (scrape.status != 200 || at == std::string::npos) return std::string("missing");
        const size_t start = at + 1 + sample.size() + 1;
        return scrape.body.substr(start, scrape.body.find('\n', start) - start);
    };
    CHECK(gauge("cmkfs_volume_plugin_volumes") == "0");
    auto &docker = engine().dockerd;
    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + plugin.vault().kid,
                      "dv-shared"});
    const std::string loop = "; while true; do sleep 1; done";
    docker.docker_ok({"run", "-d", "--name", "dv-shared-1", "--network", "none", "-v", "dv-shared:/data",
                      engine().image, "sh", "-c", "echo one > /data/one" + loop});
    docker.docker_ok({"run", "-d", "--name", "dv-shared-2", "--network", "none", "-v", "dv-shared:/data",
                      engine().image, "sh", "-c", "echo two > /data/two" + loop});
    auto cat_in = [&](const std::string &c, const std::string &file) {
        return docker.docker({"exec", c, "cat", "/data/" + file}).out;
    };
    CHECK(eventually([&] { return cat_in("dv-shared-1", "two") == "two\n"; }, 10));
    CHECK(eventually([&] { return cat_in("dv-shared-2", "one") == "one\n"; }, 10));
    CHECK(mounts_of(plugin.store("dv-shared")) == 1);
    CHECK(inspect_status("dv-shared").at("mountReferences") == 2);
    CHECK(gauge("cmkfs_volume_plugin_volumes") == "1");
    CHECK(gauge("cmkfs_volume_plugin_mounts{kind=\"volumes\"}") == "1");
    CHECK(gauge("cmkfs_volume_plugin_mounts{kind=\"references\"}") == "2");

    // Docker itself refuses first; the plugin refuses too when asked directly.
    auto rm = docker.docker({"volume", "rm", "dv-shared"});
    CHECK(rm.exit_code != 0);
    CHECK(rm.err.find("volume is in use") != std::string::npos);
    auto direct = plugin.post("VolumeDriver.Remove", R"({"Name":"dv-shared"})");
    INFO(direct.out << direct.err);
    CHECK(direct.out.find("volume dv-shared is mounted (2 container mounts)") != std::string::npos);
    CHECK(fs::exists(plugin.store("dv-shared")));

    // The first container leaving keeps the mount for the second.
    docker.docker_ok({"rm", "-f", "dv-shared-1"});
    CHECK(is_mounted(plugin.mountpoint("dv-shared")));
    CHECK(cat_in("dv-shared-2", "one") == "one\n");
    CHECK(inspect_status("dv-shared").at("mountReferences") == 1);
    docker.docker_ok({"rm", "-f", "dv-shared-2"});
    CHECK(eventually([&] { return !is_mounted(plugin.mountpoint("dv-shared")); }, 10));
    CHECK(mounts_of(plugin.store("dv-shared")) == 0);
    CHECK(gauge("cmkfs_volume_plugin_mounts{kind=\"volumes\"}") == "0");
    docker.docker_ok({"volume", "rm", "dv-shared"});
}

TEST_CASE("revoking the key gives a running container EACCES; restoring it resumes the container", "[e2e][docker]") {
    TempDir work;
    VolumePlugin plugin(work.path());
    auto &docker = engine().dockerd;
    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + plugin.vault().kid,
                      "dv-revoke"});
    const std::string script =
        "echo start > /data/f; while true; do "
        "if cat /data/f > /dev/null 2> /tmp/r; then echo read-ok; else echo \"read-fail $(cat /tmp/r)\"; fi; "
        "if { echo x >> /data/w; } 2> /tmp/w; then echo write-ok; else echo \"write-fail $(cat /tmp/w)\"; fi; "
        "sleep 0.2; done";
    docker.docker_ok({"run", "-d", "--name", "dv-revoke-c", "--network", "none", "-v", "dv-revoke:/data",
                      engine().image, "sh", "-c", script});
    auto logs = [&] { return docker.docker({"logs", "dv-revoke-c"}).out; };
    auto started = [&] { return docker.docker_ok({"inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", "dv-revoke-c"}); };
    REQUIRE(eventually([&] { return logs().find("write-ok") != std::string::npos; }, 20));
    const std::string first_start = started();

    plugin.vault().delete_policy();
    std::string output;
    const bool denied = eventually(
        [&] {
            output = logs();
            return output.find("read-fail cat: can't open '/data/f': Permission denied") != std::string::npos &&
                   output.find("write-fail sh: can't create /data/w: Permission denied") != std::string::npos;
        },
        15);
    INFO("container output: " << output.substr(output.size() > 2000 ? output.size() - 2000 : 0));
    CHECK(denied);
    CHECK(inspect_status("dv-revoke").at("keyState").at("state") == "locked");

    const size_t seen = logs().size();
    plugin.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    CHECK(eventually(
        [&] {
            const std::string l = logs();
            return l.size() > seen && l.find("read-ok", seen) != std::string::npos &&
                   l.find("write-ok", seen) != std::string::npos;
        },
        15));
    CHECK(started() == first_start);  // the same container process, never restarted
    CHECK(first_start.rfind("true ", 0) == 0);
    docker.docker_ok({"rm", "-f", "dv-revoke-c"});
    CHECK(eventually([&] { return !is_mounted(plugin.mountpoint("dv-revoke")); }, 10));
    docker.docker_ok({"volume", "rm", "dv-revoke"});
}

TEST_CASE("a restarted plugin finds the mounts in use and forgets stale ones", "[e2e][docker]") {
    TempDir work;
    VolumePlugin plugin(work.path());
    auto &docker = engine().dockerd;
    for (const char *v : {"dv-restart", "dv-stale"})
        docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + plugin.vault().kid, v});
    const std::string loop = "; while true; do sleep 1; done";
    docker.docker_ok({"run", "-d", "--name", "dv-restart-c", "--network", "none", "-v", "dv-restart:/data",
                      engine().image, "sh", "-c", "echo before > /data/f" + loop});
    docker.docker_ok({"run", "-d", "--name", "dv-stale-c", "--network", "none", "-v", "dv-stale:/data",
                      engine().image, "sh", "-c", "echo stale > /data/f" + loop});
    REQUIRE(eventually([&] { return docker.docker({"exec", "dv-restart-c", "cat", "/data/f"}).out == "before\n"; }, 10));

    plugin.stop();
    // The mounts outlive the plugin: the container keeps working.
    CHECK(is_mounted(plugin.mountpoint("dv-restart")));
    CHECK(docker.docker({"exec", "dv-restart-c", "sh", "-c", "echo during >> /data/f && cat /data/f"}).out ==
          "before\nduring\n");
    // dv-stale's mount goes away while nobody watches (an operator's umount,
    // a killed daemon): its recorded reference must not survive the restart.
    REQUIRE(cli({"umount", plugin.mountpoint("dv-stale")}).exit_code == 0);
    plugin.start();

    const nlohmann::json state = nlohmann::json::parse(read_file(plugin.state_file()));
    INFO(state.dump() << plugin.log());
    CHECK(state.at("volumes").at("dv-restart").size() == 1);
    CHECK_FALSE(state.at("volumes").contains("dv-stale"));
    const nlohmann::json status = inspect_status("dv-restart");
    CHECK(status.at("mountReferences") == 1);
    CHECK(status.at("keyState").at("state") == "unlocked");
    CHECK(inspect_status("dv-stale").at("mountReferences") == 0);

    // Docker's Unmount after the restart is the last reference: unmounted.
    docker.docker_ok({"rm", "-f", "dv-restart-c"});
    CHECK(eventually([&] { return !is_mounted(plugin.mountpoint("dv-restart")); }, 10));
    CHECK(mounts_of(plugin.store("dv-restart")) == 0);
    docker.docker_ok({"rm", "-f", "dv-stale-c"});
    CHECK(nlohmann::json::parse(read_file(plugin.state_file())).at("volumes").empty());
    // And it mounts again.
    auto again = container("dv-restart", "cat /data/f");
    INFO(again.err << plugin.log());
    CHECK(again.out == "before\nduring\n");
    docker.docker_ok({"volume", "rm", "dv-restart", "dv-stale"});
}

TEST_CASE("bad volume options and bad requests get a clear Err", "[e2e][docker]") {
    TempDir work;
    VolumePlugin plugin(work.path());
    auto &docker = engine().dockerd;
    const std::string kid = plugin.vault().kid;
    auto create_err = [&](const std::vector<std::string> &opts) {
        std::vector<std::string> args{"volume", "create", "-d", plugin.driver()};
        for (const auto &o : opts) args.insert(args.end(), {"-o", o});
        args.push_back("dv-bad");
        auto r = docker.docker(args);
        CHECK(r.exit_code != 0);
        return r.err;
    };
    CHECK_THAT(create_err({"key-encryption-key=" + kid, "colour=blue"}),
               Catch::Contains("unknown option 'colour' (known: key-encryption-key, identity, provider, vault, "
                               "remove-on-rm)"));
    CHECK_THAT(create_err({"key-encryption-key=local://" + plugin.vault().dir + "/keys/missing"}),
               Catch::Contains("key missing not found in vault"));
    CHECK_THAT(create_err({"key-encryption-key=" + kid, "identity=stranger"}),
               Catch::Contains("denied: identity stranger has no access policy"));
    CHECK_THAT(create_err({"identity=someone"}), Catch::Contains("missing option key-encryption-key"));
    CHECK_THAT(create_err({"key-encryption-key=" + kid, "remove-on-rm=maybe"}),
               Catch::Contains("option remove-on-rm expects true or false, got 'maybe'"));
    CHECK_THAT(create_err({"key-encryption-key=" + kid, "vault=relative/dir"}),
               Catch::Contains("option vault must be an absolute path"));
    CHECK_THAT(create_err({"key-encryption-key=" + kid, "provider=" + work / "evil.so"}),
               Catch::Contains("option provider must name a provider"));
    // A failed create leaves nothing behind.
    CHECK(fs::is_empty(plugin.volumes_dir()));

    // A key revoked before the first container: the mount is refused with
    // the provider's reason, naming the identity.
    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + kid, "dv-denied"});
    plugin.vault().delete_policy();
    auto denied = container("dv-denied", "true");
    CHECK(denied.exit_code != 0);
    CHECK_THAT(denied.err, Catch::Contains("denied: identity docker-id has no access policy"));
    CHECK(inspect_status("dv-denied").at("keyState").at("state") == "denied");
    plugin.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    CHECK(container("dv-denied", "true").exit_code == 0);
    docker.docker_ok({"volume", "rm", "dv-denied"});

    // Requests only a client other than dockerd would send.
    auto escape = plugin.post("VolumeDriver.Create", R"({"Name":"../escape","Opts":{}})");
    CHECK_THAT(escape.out, Catch::Contains("invalid volume name '../escape'"));
    CHECK_FALSE(fs::exists(work / "escape"));
    CHECK_THAT(plugin.post("VolumeDriver.Mount", R"({"Name":"nothing","ID":"x"})").out,
               Catch::Contains("no such volume: nothing"));
    CHECK_THAT(plugin.post("VolumeDriver.Create", "{not json").out, Catch::EndsWith("\n400"));
    CHECK_THAT(plugin.post("VolumeDriver.List", "", "GET").out, Catch::EndsWith("\n405"));
    CHECK_THAT(plugin.post("VolumeDriver.Create", std::string(2 << 20, ' ')).out, Catch::EndsWith("\n413"));
    auto big_header = run({"curl", "-sS", "--max-time", "20", "--unix-socket", plugin.socket(), "-w", "\n%{http_code}",
                           "-X", "POST", "-H", "X-Padding: " + std::string(20000, 'a'), "-d", "{}",
                           "http://plugin/VolumeDriver.List"});
    CHECK_THAT(big_header.out, Catch::EndsWith("\n431"));
    auto chunked = run({"curl", "-sS", "--max-time", "20", "--unix-socket", plugin.socket(), "-w", "\n%{http_code}",
                        "-X", "POST", "-H", "Transfer-Encoding: chunked", "-d", "{}", "http://plugin/VolumeDriver.List"});
    CHECK_THAT(chunked.out, Catch::EndsWith("\n411"));
    // The plugin still serves after all of it.
    CHECK_THAT(plugin.post("VolumeDriver.Capabilities", "{}").out, Catch::Contains(R"("Scope":"local")"));
}

TEST_CASE("a volume whose daemon died is mounted afresh for the next container", "[e2e][docker]") {
    TempDir work;
    VolumePlugin plugin(work.path());
    auto &docker = engine().dockerd;
    docker.docker_ok({"volume", "create", "-d", plugin.driver(), "-o", "key-encryption-key=" + plugin.vault().kid,
                      "dv-crash"});
    REQUIRE(container("dv-crash", "echo kept > /data/f").exit_code == 0);
    docker.docker_ok({"run", "-d", "--name", "dv-crash-c", "--network", "none", "-v", "dv-crash:/data",
                      engine().image, "sh", "-c", "while true; do sleep 1; done"});
    REQUIRE(eventually([&] { return daemon_of(plugin.store("dv-crash")) > 0; }, 10));
    const pid_t dead = daemon_of(plugin.store("dv-crash"));
    REQUIRE(::kill(dead, SIGKILL) == 0);
    REQUIRE(eventually([&] { return daemon_of(plugin.store("dv-crash")) != dead; }, 10));

    // The next container gets a working mount, not the dead one.
    auto read = container("dv-crash", "cat /data/f");
    INFO(read.err << plugin.log());
    CHECK(read.out == "kept\n");
    CHECK_THAT(plugin.log(), Catch::Contains("the daemon of volume dv-crash is gone"));
    // The old container's Unmount does not take it away from anyone; all done, nothing left mounted.
    docker.docker_ok({"rm", "-f", "dv-crash-c"});
    CHECK(eventually([&] { return mounts_of(plugin.store("dv-crash")) == 0; }, 10));
    CHECK(daemon_of(plugin.store("dv-crash")) == -1);
    docker.docker_ok({"volume", "rm", "dv-crash"});
}
