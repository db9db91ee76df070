#!/usr/bin/env python3
"""Known-answer vectors for test_known_answers.cpp, computed from the text of
docs/FORMAT.md with Python's `cryptography` package alone (no cmkfs code), so
the C++ format layer is checked against an independent reading of the spec.

Run: python3 tests/unit/format/make_vectors.py  (prints C++ constants)
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV


def hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()  # no salt
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


volume_key = bytes([1]) * 32
header_mac_key = hkdf(volume_key, b"cmkfs v1 volume-header-mac", 32)
names_key = hkdf(volume_key, b"cmkfs v1 names", 64)
meta_key = hkdf(volume_key, b"cmkfs v1 metadata", 32)
file_id = bytes(range(16))
content_key = hkdf(volume_key, b"cmkfs v1 content" + file_id, 32)
dir_id = bytes(range(0x10, 0x20))


def out(name, value):
    print(f'constexpr const char *{name} = "{value}";')


out("kHeaderMacKey", header_mac_key.hex())
out("kNamesKey", names_key.hex())
out("kMetaKey", meta_key.hex())
out("kContentKey", content_key.hex())

siv = AESSIV(names_key)
out("kNameHello", b64url(siv.encrypt(b"hello.txt", [dir_id])))
long_plain = b"L" * 200
long_encoded = b64url(siv.encrypt(long_plain, [dir_id]))
out("kLongEncoded", long_encoded)
out("kLongBacking", ".cmkfs.long." + b64url(hashlib.sha256(long_encoded.encode()).digest()))
out("kXattrNameComment", "user." + b64url(siv.encrypt(b"comment", [b"xattr"])))

nonce = bytes(range(0x20, 0x2c))
plain = bytes((i * 7) & 0xFF for i in range(100))
index = 3
aad = file_id + index.to_bytes(8, "big")
out("kBlock3", (nonce + AESGCM(content_key).encrypt(nonce, plain, aad)).hex())
out("kSymlink", b64url(nonce + AESGCM(meta_key).encrypt(nonce, b"../target/file", b"symlink")))
out("kXattrValue",
    (nonce + AESGCM(meta_key).encrypt(nonce, b"value\0bytes", b"xattr:user.comment")).hex())

# Format version 2 (FORMAT.md §3, §7): the block AAD ends in u8(last), the
# xattr value AAD in the owner's id (here the file id).
out("kBlock3LastV2", (nonce + AESGCM(content_key).encrypt(nonce, plain, aad + b"\x01")).hex())
out("kBlock3MiddleV2", (nonce + AESGCM(content_key).encrypt(nonce, plain, aad + b"\x00")).hex())
out("kXattrValueV2",
    (nonce + AESGCM(meta_key).encrypt(nonce, b"value\0bytes", b"xattr:user.comment" + file_id)).hex())

header = {
    "format_version": 1,
    "volume_id": "00112233445566778899aabbccddeeff",
    "cipher_suite": "AES-256-GCM/4096+AES-256-SIV+HKDF-SHA256",
    "block_size": 4096,
    "plaintext_names": False,
    "provider": "local",
    "provider_options": {"vault": "/v"},
    "key_id": "local:///v/keys/k",
    "versioned_key_id": "local:///v/keys/k/0123456789abcdef0123456789abcdef",
    "identity": "id",
    "wrapped_key": b64url(b"\x99" * 40),
    "created": "2024-01-02T03:04:05Z",
    "last_rotation": "",
    "root_dir_id": dir_id.hex(),
}
canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
out("kHeaderMac", hmac.new(header_mac_key, canonical.encode(), hashlib.sha256).hexdigest())

# Format version 2 (docs/FORMAT.md §2, §4.1, §6): place binding.
dir_id_key = hkdf(volume_key, b"cmkfs v2 directory-id", 32)
out("kDirIdKey", dir_id_key.hex())


def place(parent: bytes, name: bytes) -> bytes:
    return parent + len(name).to_bytes(2, "big") + name


out("kSymlinkV2", b64url(nonce + AESGCM(meta_key).encrypt(
    nonce, b"../target/file", b"symlink" + place(dir_id, b"link"))))
child_id = bytes(range(0x40, 0x50))
out("kDirIdFileV2",
    (child_id + hmac.new(dir_id_key, child_id + b"\x01" + place(dir_id, b"sub"), hashlib.sha256).digest()).hex())
out("kRootDirIdFileV2",
    (dir_id + hmac.new(dir_id_key, dir_id + b"\x00", hashlib.sha256).digest()).hex())
