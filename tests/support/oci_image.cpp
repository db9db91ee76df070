#include "support/oci_image.h"

#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/process.h"

namespace cmkfs::test {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char *kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char *kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char *kLayerType = "application/vnd.oci.image.layer.v1.tar";
constexpr const char *kRefName = "org.opencontainers.image.ref.name";

std::string hex_of(const std::string &digest) {
    if (digest.rfind("sha256:", 0) != 0) throw std::runtime_error("not a sha256 digest: " + digest);
    return digest.substr(7);
}

// Stores bytes as a blob and returns its descriptor.
json put_blob(const std::string &layout, const std::string &media_type, const std::string &bytes) {
    const std::string digest = sha256_digest(bytes);
    write_file(layout + "/blobs/sha256/" + hex_of(digest), bytes);
    return {{"mediaType", media_type}, {"digest", digest}, {"size", bytes.size()}};
}

std::string tar_of(const std::string &dir, const std::string &scratch_tar) {
    auto r = run({"tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
                  "--format=gnu", "-C", dir, "-cf", scratch_tar, "."});
    if (r.exit_code != 0) throw std::runtime_error("tar of " + dir + " failed: " + r.err);
    std::string bytes = read_file(scratch_tar);
    fs::remove(scratch_tar);
    return bytes;
}

}  // namespace

std::string sha256_digest(const std::string &bytes) {
    return "sha256:" + crypto::hex_encode(crypto::sha256(crypto::as_bytes(bytes)));
}

std::string OciImage::blob_path(const std::string &digest) const {
    return layout + "/blobs/sha256/" + hex_of(digest);
}

std::vector<std::string> OciImage::blob_digests() const {
    std::vector<std::string> all{manifest_digest, config_digest};
    all.insert(all.end(), layer_digests.begin(), layer_digests.end());
    return all;
}

OciImage write_oci_image(const std::string &layout, const std::string &tag,
                         const std::vector<std::string> &layer_dirs) {
    fs::create_directories(layout + "/blobs/sha256");
    json layers = json::array();
    json diff_ids = json::array();
    for (const auto &dir : layer_dirs) {
        const std::string tar = tar_of(dir, layout + "/layer.tar.tmp");
        json descriptor = put_blob(layout, kLayerType, tar);
        diff_ids.push_back(descriptor["digest"]);  // uncompressed: diff_id == digest
        layers.push_back(descriptor);
    }
    const json config = {{"architecture", "amd64"},
                         {"os", "linux"},
                         {"config", {{"Env", {"PATH=/bin"}}, {"Cmd", {"/bin/sh"}}}},
                         {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    const json manifest = {{"schemaVersion", 2},
                           {"mediaType", kManifestType},
                           {"config", put_blob(layout, kConfigType, config.dump())},
                           {"layers", layers}};
    json manifest_descriptor = put_blob(layout, kManifestType, manifest.dump());
    manifest_descriptor["annotations"] = {{kRefName, tag}};
    write_file(layout + "/oci-layout", json{{"imageLayoutVersion", "1.0.0"}}.dump());
    write_file(layout + "/index.json",
               json{{"schemaVersion", 2}, {"manifests", json::array({manifest_descriptor})}}.dump());
    return read_oci_image(layout, tag);
}

OciImage read_oci_image(const std::string &layout, const std::string &tag) {
    const json index = json::parse(read_file(layout + "/index.json"));
    for (const auto &m : index.at("manifests")) {
        if (!m.contains("annotations") || m["annotations"].value(kRefName, "") != tag) continue;
        OciImage image;
        image.layout = layout;
        image.tag = tag;
        image.manifest_digest = m.at("digest").get<std::string>();
        image.manifest = read_file(image.blob_path(image.manifest_digest));
        if (sha256_digest(image.manifest) != image.manifest_digest)
            throw std::runtime_error("manifest blob does not match its digest in " + layout);
        const json manifest = json::parse(image.manifest);
        image.config_digest = manifest.at("config").at("digest").get<std::string>();
        for (const auto &layer : manifest.at("layers")) image.layer_digests.push_back(layer.at("digest"));
        return image;
    }
    throw std::runtime_error("no manifest tagged " + tag + " in " + layout);
}

}  // namespace cmkfs::test
