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
#include "format/name_codec.h"
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

void metadata() {
    const auto &keys = fuzz::test_keys();
    put("metadata", "symlink-target", format::NameCodec::seal_text(keys.meta(), "symlink", "../shared/target"));
    put("metadata", "xattr-value", format::seal_xattr_value(keys.meta(), "user.a", "value"));
    put("metadata", "xattr-name", format::encrypt_xattr_name(keys.names(), "user.comment"));
    put("metadata", "plain", "user.comment");
}

void file_contents() {
    const auto &keys = fuzz::test_keys();
    format::FileHeader header;
    header.id.fill(0x33);
    const crypto::ContentKey key = keys.content_key(header.id);
    format::BlockCodec codec(key, header.id);
    auto file = [&](size_t plain_size, bool hole_first) {
        const auto h = header.encode();
        std::string out = bytes_text(h);
        for (uint64_t index = 0; index * format::kBlockPlainSize < plain_size; ++index) {
            const size_t len = std::min<size_t>(format::kBlockPlainSize, plain_size - index * format::kBlockPlainSize);
            std::vector<uint8_t> plain(len, static_cast<uint8_t>('a' + index)), sealed(len + format::kBlockOverhead);
            codec.seal(index, plain, sealed);
            if (hole_first && index == 0) std::fill(sealed.begin(), sealed.end(), 0);
            out += bytes_text(sealed);
        }
        return out;
    };
    put("file_content", "header-only", file(0, false));
    put("file_content", "short", file(100, false));
    put("file_content", "block-and-tail", file(format::kBlockPlainSize + 10, false));
    put("file_content", "hole-then-tail", file(format::kBlockPlainSize + 10, true));
    put("file_content", "torn-tail", file(100, false).substr(0, format::kFileHeaderSize + 20));
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
    file_contents();
    credentials();
    return 0;
}
