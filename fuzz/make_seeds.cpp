// Writes the seed corpora of the fuzz targets that read what cmkfs itself
// writes under a key: each seed is made by the real encoder with the fuzz
// test key (fuzz_support.h), so the fuzzers start from inputs that
// authenticate. Run by hand after a format change:
//   build-fuzz/fuzz/make_seeds fuzz/corpus
// The other targets' seeds are hand-written text files.
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "format/block_codec.h"
#include "format/credentials_codec.h"
#include "format/file_layout.h"
#include "format/link_record_codec.h"
#include "format/long_target.h"
#include "format/name_codec.h"
#include "format/place_codec.h"
#include "format/volume_header.h"
#include "format/xattr_codec.h"
#include "fuzz_support.h"

using namespace cmkfs;
namespace fsys = std::filesystem;

namespace {

fsys::path g_root;

void put(const std::string &target, const std::string &name, std::string_view bytes) {
    fsys::create_directories(g_root / target);
    std::ofstream out(g_root / target / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string bytes_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char *>(b.data()), b.size()}; }

void volume_headers() {
    const auto &keys = fuzz::test_keys();
    format::VolumeHeader h;
    h.volume_id = "00112233445566778899aabbccddeeff";
    h.provider = "local";
    h.provider_options = {{"vault", "/var/lib/cmkfs/vault"}};
    h.key_id = "local:cmk";
    h.versioned_key_id = "local:cmk/1";
    h.identity = "ops";
    h.wrapped_key = std::vector<uint8_t>(256, 0x5a);
    h.created = "2026-01-02T03:04:05Z";
    h.root_dir_id.fill(0x11);
    put("volume_header", "local", format::seal_volume_header(h, keys.header_mac()));
    h.format_version = 1;  // a store not upgraded yet
    put("volume_header", "local-v1", format::seal_volume_header(h, keys.header_mac()));
    h.format_version = format::kFormatVersion;
    h.provider = "azure-keyvault";
    h.provider_options = {{"credential", "managed_identity"}, {"check", "get"}};
    h.key_id = "https://vault1.vault.azure.net/keys/cmk";
    h.versioned_key_id = "https://vault1.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef";
    h.last_rotation = "2026-02-03T04:05:06Z";
    put("volume_header", "azure-rotated", format::seal_volume_header(h, keys.header_mac()));
    h.plaintext_names = true;
    h.provider = "exec";
    h.provider_options = {{"program", "/usr/local/bin/kms"}, {"timeout", "5s"}};
    put("volume_header", "exec-plaintext-names", format::seal_volume_header(h, keys.header_mac()));
}

void names() {
    const format::NameCodec codec(&fuzz::test_keys().names());
    format::DirId parent{};
    parent.fill(0x22);
    const std::string id = bytes_text(parent);
    const auto direct = codec.encode(parent, "report.txt");
    put("names", "direct", id + direct.name);
    const auto long_name = codec.encode(parent, std::string(200, 'L'));
    put("names", "long-backing", id + long_name.name);
    put("names", "long-sidecar-content", id + long_name.full);
    put("names", "sidecar-file-name", id + long_name.sidecar);
    put("names", "plain", id + "a b.c");
    put("names", "reserved", id + ".cmkfs.dirid");
}

std::string v(uint32_t version) { return "-v" + std::to_string(version); }

void metadata() {
    const auto &keys = fuzz::test_keys();
    const format::Place place = format::Place::in(fuzz::test_parent(), fuzz::kTestName);
    const format::FileId owner = fuzz::test_file_id();
    for (const uint32_t version : fuzz::kFormatVersions) {
        const auto own = format::binds_place(version) ? std::span<const uint8_t>(owner) : std::span<const uint8_t>();
        put("metadata", "symlink-target" + v(version),
            format::seal_symlink_target(version, keys.meta(), place, "../shared/target"));
        put("metadata", "xattr-value" + v(version), format::seal_xattr_value(keys.meta(), "user.a", "value", own));
    }
    put("metadata", "xattr-name", format::encrypt_xattr_name(keys.names(), "user.comment"));
    put("metadata", "plain", "user.comment");
}

// .cmkfs.dirid of a subdirectory at the test place and of the root.
void dir_ids() {
    const auto &key = fuzz::test_keys().dir_ids();
    format::DirId id{};
    id.fill(0x44);
    const format::Place place = format::Place::in(fuzz::test_parent(), fuzz::kTestName);
    for (const uint32_t version : fuzz::kFormatVersions) {
        put("dir_id", "subdir" + v(version), bytes_text(format::encode_dir_id_file(version, key, id, place)));
        put("dir_id", "root" + v(version),
            bytes_text(format::encode_dir_id_file(version, key, id, format::Place::root())));
    }
    // The round-trip part of the target: an id, then a place's name.
    put("dir_id", "id-and-name", bytes_text(id) + "report.txt");
}

// user.cmkfs.links values: the target's input is u32be(count) || record.
void link_records() {
    const auto &key = fuzz::test_keys().meta();
    for (const uint32_t links : {2u, 70000u}) {
        const std::string count = {static_cast<char>(links >> 24), static_cast<char>(links >> 16),
                                   static_cast<char>(links >> 8), static_cast<char>(links)};
        put("link_record", "links-" + std::to_string(links),
            count + format::seal_link_record(key, fuzz::test_file_id(), links));
    }
    put("link_record", "record-only", format::seal_link_record(key, fuzz::test_file_id(), 3));
}

void file_contents() {
    const auto &keys = fuzz::test_keys();
    format::FileHeader header;
    header.id = fuzz::test_file_id();
    const crypto::ContentKey key = keys.content_key(header.id);
    for (const uint32_t version : fuzz::kFormatVersions) {
        format::BlockCodec codec(key, header.id, version);
        auto file = [&](size_t plain_size, bool hole_first) {
            const auto h = header.encode();
            std::string out = bytes_text(h);
            const uint64_t final_index = format::final_block_index(plain_size);
            for (uint64_t index = 0; index * format::kBlockPlainSize < plain_size; ++index) {
                const size_t len =
                    std::min<size_t>(format::kBlockPlainSize, plain_size - index * format::kBlockPlainSize);
                std::vector<uint8_t> plain(len, static_cast<uint8_t>('a' + index)),
                    sealed(len + format::kBlockOverhead);
                codec.seal(index, index == final_index, plain, sealed);
                if (hole_first && index == 0) std::fill(sealed.begin(), sealed.end(), 0);
                out += bytes_text(sealed);
            }
            return out;
        };
        put("file_content", "header-only" + v(version), file(0, false));
        put("file_content", "short" + v(version), file(100, false));
        put("file_content", "block-and-tail" + v(version), file(format::kBlockPlainSize + 10, false));
        put("file_content", "hole-then-tail" + v(version), file(format::kBlockPlainSize + 10, true));
        put("file_content", "torn-tail" + v(version), file(100, false).substr(0, format::kFileHeaderSize + 20));
        // Cut at a block boundary: format 2 refuses the new final block.
        put("file_content", "cut-at-block" + v(version),
            file(2 * format::kBlockPlainSize + 10, false).substr(0, format::block_cipher_offset(1)));
    }
}

void credentials() {
    const crypto::CredentialsKey key = fuzz::test_keys().credentials_key();
    format::RegistryCredentials creds = {{"registry.example:5000", {"robot", "s3cret"}},
                                         {"https://index.docker.io/v1/", {"me", "tok"}}};
    const auto sealed = format::seal_credentials(key, "0123456789abcdef0123456789abcdef", creds);
    put("credentials_file", "sealed", std::string(1, '\0') + bytes_text(sealed));
    put("credentials_file", "plain-json",
        "\x01" R"({"registry.example":{"Username":"u","Secret":"s"},"r2":{"Username":"v","Secret":""}})");
    put("credentials_file", "plain-not-object", "\x01[1,2]");
}

// Format 3 (FORMAT.md §6.2): a marker and a sealed sidecar of a 4001-byte target.
void long_targets() {
    format::LongTargetRef ref;
    ref.id.fill(0x42);
    ref.length = 4001;
    put("long_target", "marker", format::long_target_marker(ref));
    put("long_target", "sidecar",
        format::seal_long_target(fuzz::test_keys().meta(), ref.id,
                                 format::Place::in(fuzz::test_parent(), fuzz::kTestName), std::string(4001, 'a')));
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::cerr << "usage: make_seeds CORPUS_DIR\n";
        return 2;
    }
    g_root = argv[1];
    volume_headers();
    names();
    metadata();
    dir_ids();
    long_targets();
    link_records();
    file_contents();
    credentials();
    return 0;
}
