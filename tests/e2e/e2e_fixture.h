// Pieces shared by the end-to-end tests: the test image (a static busybox, a
// known text file and a layer of random data), skopeo push/pull against a
// local registry, and scans of a backing directory for leaked plaintext or
// leaked digests in names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/oci_image.h"
#include "support/process.h"

namespace cmkfs::test::e2e {

struct TestImage {
    OciImage oci;
    std::string hello_text;      // content of /hello.txt, distinctive per image
    std::string random_sha256;   // of /random.bin (the random layer's file)
    std::string random_excerpt;  // 64 bytes from the middle of /random.bin
    std::string busybox_excerpt; // 64 bytes from the middle of /bin/busybox
    // What must never appear in a backing directory: a piece of every layer.
    std::vector<std::string> plaintext_needles() const { return {hello_text, random_excerpt, busybox_excerpt}; }
};

// Builds the image under `work` (layer trees in work/layers-TAG, layout in
// work/oci-TAG). `stream` varies the random data between images.
TestImage build_test_image(const std::string &work, const std::string &tag, uint64_t stream,
                           size_t random_bytes = 4 << 20);

// skopeo between a local OCI layout and the plain-HTTP registry at `ref`
// ("127.0.0.1:PORT/REPO:TAG"), keeping digests so blobs compare byte for byte.
CommandResult skopeo_push(const OciImage &image, const std::string &ref);
CommandResult skopeo_pull(const std::string &ref, const std::string &layout, const std::string &tag);

// "" when `pulled` has the same manifest bytes and every blob byte-identical to
// `original`, otherwise what differs.
std::string image_differences(const OciImage &original, const OciImage &pulled);

// Files under root whose bytes contain any needle ("path: needle #i").
std::vector<std::string> files_containing(const std::string &root, const std::vector<std::string> &needles);
// Paths under root with any of the strings in a file or directory name.
std::vector<std::string> names_containing(const std::string &root, const std::vector<std::string> &strings);
// The hex part of every blob digest of the image.
std::vector<std::string> digest_hexes(const OciImage &image);

// Polls pred every 20 ms; true when it held within timeout_s.
bool eventually(const std::function<bool()> &pred, double timeout_s);

}  // namespace cmkfs::test::e2e
