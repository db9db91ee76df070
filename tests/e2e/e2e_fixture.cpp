#include "e2e/e2e_fixture.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

namespace cmkfs::test::e2e {

namespace {

namespace fs = std::filesystem;

// A root file system with a static busybox, enough for `ctr run`.
void write_busybox_layer(const std::string &dir) {
    fs::create_directories(dir + "/bin");
    fs::copy_file("/bin/busybox", dir + "/bin/busybox");
    for (const char *applet : {"sh", "cat", "sha256sum", "ls"}) fs::create_symlink("busybox", dir + "/bin/" + applet);
    fs::create_directories(dir + "/etc");
    write_file(dir + "/etc/passwd", "root:x:0:0:root:/:/bin/sh\n");
}

}  // namespace

TestImage build_test_image(const std::string &work, const std::string &tag, uint64_t stream, size_t random_size) {
    const std::string layers = work + "/layers-" + tag;
    write_busybox_layer(layers + "/busybox");
    TestImage image;
    const std::string busybox = read_file(layers + "/busybox/bin/busybox");
    image.busybox_excerpt = busybox.substr(busybox.size() / 2, 64);
    const std::string marker = crypto::hex_encode(crypto::as_bytes(random_bytes(16, stream ^ 0x5eed)));
    image.hello_text = "hello from the cmkfs end-to-end test, image " + tag + ", marker " + marker + "\n";
    fs::create_directories(layers + "/text");
    write_file(layers + "/text/hello.txt", image.hello_text);
    const std::string random = random_bytes(random_size, stream);
    fs::create_directories(layers + "/random");
    write_file(layers + "/random/random.bin", random);
    image.random_sha256 = sha256_digest(random).substr(7);
    image.random_excerpt = random.substr(random_size / 2, 64);
    image.oci = write_oci_image(work + "/oci-" + tag, tag,
                                {layers + "/busybox", layers + "/text", layers + "/random"});
    return image;
}

CommandResult skopeo_push(const OciImage &image, const std::string &ref) {
    return run({"skopeo", "copy", "--preserve-digests", "--dest-tls-verify=false",
                "oci:" + image.layout + ":" + image.tag, "docker://" + ref});
}

CommandResult skopeo_pull(const std::string &ref, const std::string &layout, const std::string &tag) {
    return run({"skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "docker://" + ref,
                "oci:" + layout + ":" + tag});
}

std::string image_differences(const OciImage &original, const OciImage &pulled) {
    std::string out;
    if (pulled.manifest != original.manifest) out += "manifest bytes differ\n";
    if (pulled.blob_digests() != original.blob_digests()) out += "blob digests differ\n";
    for (const auto &digest : original.blob_digests()) {
        std::error_code ec;
        if (!fs::exists(pulled.blob_path(digest), ec))
            out += "missing blob " + digest + "\n";
        else if (read_file(pulled.blob_path(digest)) != read_file(original.blob_path(digest)))
            out += "blob " + digest + " differs\n";
    }
    return out;
}

std::vector<std::string> files_containing(const std::string &root, const std::vector<std::string> &needles) {
    std::vector<std::string> hits;
    for (const auto &entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file() || entry.is_symlink()) continue;
        const std::string bytes = read_file(entry.path().string());
        for (size_t i = 0; i < needles.size(); ++i)
            if (bytes.find(needles[i]) != std::string::npos)
                hits.push_back(entry.path().string() + ": needle #" + std::to_string(i));
    }
    return hits;
}

std::vector<std::string> names_containing(const std::string &root, const std::vector<std::string> &strings) {
    std::vector<std::string> hits;
    for (const auto &entry : fs::recursive_directory_iterator(root)) {
        const std::string name = entry.path().filename().string();
        for (const auto &s : strings)
            if (name.find(s) != std::string::npos) hits.push_back(entry.path().string());
    }
    return hits;
}

std::vector<std::string> digest_hexes(const OciImage &image) {
    std::vector<std::string> out;
    for (const auto &digest : image.blob_digests()) out.push_back(digest.substr(7));
    return out;
}

bool eventually(const std::function<bool()> &pred, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace cmkfs::test::e2e
