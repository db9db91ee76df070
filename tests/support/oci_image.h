// Small OCI image layouts written locally, with no network: each layer is an
// uncompressed tar of a directory, the config lists the layers' diff_ids, and
// index.json names the manifest by tag. Also reads a layout back (e.g. one
// that skopeo pulled) so tests can compare manifests and blobs byte for byte.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::test {

struct OciImage {
    std::string layout;  // the OCI layout directory
    std::string tag;
    std::string manifest_digest;             // "sha256:HEX"
    std::string manifest;                    // its exact bytes
    std::string config_digest;
    std::vector<std::string> layer_digests;  // bottom layer first

    std::string blob_path(const std::string &digest) const;
    std::vector<std::string> blob_digests() const;  // manifest, config, layers
};

// Writes an image whose layers are tars of `layer_dirs` (bottom first) into the
// new directory `layout`, tagged `tag`. The tars are reproducible (sorted
// names, owner 0, mtime 0), so the same trees always give the same digests.
OciImage write_oci_image(const std::string &layout, const std::string &tag,
                         const std::vector<std::string> &layer_dirs);

// Reads the manifest tagged `tag` from an existing layout.
OciImage read_oci_image(const std::string &layout, const std::string &tag);

// "sha256:" + hex of SHA-256 of the bytes.
std::string sha256_digest(const std::string &bytes);

}  // namespace cmkfs::test
