#include "wrapping.h"

#include <cstring>

#include "ck_error.h"

namespace cmkfs::p11 {

namespace {

constexpr uint8_t kMagic[6] = {'C', 'M', 'K', 'P', '1', '1'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeader = 8;
constexpr size_t kGcmIv = 12;
constexpr size_t kGcmTag = 16;

std::vector<uint8_t> header(Mechanism mech) {
    std::vector<uint8_t> h(kMagic, kMagic + sizeof kMagic);
    h.push_back(kVersion);
    h.push_back(static_cast<uint8_t>(mech));
    return h;
}

CK_GCM_PARAMS gcm_params(uint8_t *iv, uint8_t *aad) {
    CK_GCM_PARAMS p{};
    p.pIv = iv;
    p.ulIvLen = kGcmIv;
    p.ulIvBits = kGcmIv * 8;
    p.pAAD = aad;
    p.ulAADLen = kHeader;
    p.ulTagBits = kGcmTag * 8;
    return p;
}

// A session object holding a volume key for the length of one C_WrapKey or
// C_UnwrapKey; destroyed whatever happens.
class TransientKey {
public:
    TransientKey(const TokenContext &ctx, CK_OBJECT_HANDLE h) : ctx_(ctx), handle_(h) {}
    ~TransientKey() {
        if (handle_ != CK_INVALID_HANDLE) ctx_.fn->C_DestroyObject(ctx_.session, handle_);
    }
    TransientKey(const TransientKey &) = delete;
    TransientKey &operator=(const TransientKey &) = delete;
    CK_OBJECT_HANDLE get() const { return handle_; }

private:
    const TokenContext &ctx_;
    CK_OBJECT_HANDLE handle_;
};

std::vector<uint8_t> wrap_gcm(const TokenContext &ctx, const KeyObject &key, const uint8_t *plain, size_t len) {
    std::vector<uint8_t> out = header(Mechanism::aes_gcm);
    out.resize(kHeader + kGcmIv + len + kGcmTag);
    uint8_t *iv = out.data() + kHeader;
    check_rv(ctx.fn->C_GenerateRandom(ctx.session, iv, kGcmIv), "C_GenerateRandom");
    CK_GCM_PARAMS params = gcm_params(iv, out.data());
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    check_rv(ctx.fn->C_EncryptInit(ctx.session, &mech, key.handle), "C_EncryptInit (CKM_AES_GCM)");
    CK_ULONG ct_len = len + kGcmTag;
    check_rv(ctx.fn->C_Encrypt(ctx.session, const_cast<uint8_t *>(plain), len, iv + kGcmIv, &ct_len),
             "C_Encrypt (CKM_AES_GCM)");
    if (ct_len != len + kGcmTag) throw P11Error(CMKFS_ERR_INTERNAL, "C_Encrypt (CKM_AES_GCM) returned an odd length");
    return out;
}

sdk::SecretBuffer unwrap_gcm(const TokenContext &ctx, const KeyObject &key, const cmkfs_host &host, const uint8_t *blob,
                        size_t len) {
    if (len < kHeader + kGcmIv + kGcmTag + 1) throw P11Error(CMKFS_ERR_INVALID, "wrapped key (aes-gcm) is too short");
    std::vector<uint8_t> head(blob, blob + kHeader);
    std::vector<uint8_t> iv(blob + kHeader, blob + kHeader + kGcmIv);
    CK_GCM_PARAMS params = gcm_params(iv.data(), head.data());
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    check_rv(ctx.fn->C_DecryptInit(ctx.session, &mech, key.handle), "C_DecryptInit (CKM_AES_GCM)");
    const size_t ct_len = len - kHeader - kGcmIv;
    sdk::SecretBuffer plain(host, ct_len);  // modules may want room for the tag too
    CK_ULONG out_len = ct_len;
    const CK_RV rv =
        ctx.fn->C_Decrypt(ctx.session, const_cast<uint8_t *>(blob + kHeader + kGcmIv), ct_len, plain.data(), &out_len);
    // The key was accepted by C_DecryptInit, so a generic failure here is the
    // tag not verifying (SoftHSM2 says CKR_GENERAL_ERROR, others
    // CKR_ENCRYPTED_DATA_INVALID): a damaged blob or another key's.
    if (classify(rv) == CMKFS_ERR_INTERNAL)
        throw P11Error(CMKFS_ERR_INVALID, "wrapped key does not verify under this key (C_Decrypt (CKM_AES_GCM): " +
                                              ckr_name(rv) + ")");
    check_rv(rv, "C_Decrypt (CKM_AES_GCM)");
    if (out_len != ct_len - kGcmTag) throw P11Error(CMKFS_ERR_INTERNAL, "C_Decrypt (CKM_AES_GCM) returned an odd length");
    plain.resize_down(out_len);
    return plain;
}

std::vector<uint8_t> wrap_kwp(const TokenContext &ctx, const KeyObject &key, const uint8_t *plain, size_t len) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &type, sizeof type},
                           {CKA_TOKEN, &no, sizeof no},         {CKA_SENSITIVE, &yes, sizeof yes},
                           {CKA_EXTRACTABLE, &yes, sizeof yes}, {CKA_VALUE, const_cast<uint8_t *>(plain), len}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    check_rv(ctx.fn->C_CreateObject(ctx.session, tmpl, 6, &h), "C_CreateObject (volume key for C_WrapKey)");
    TransientKey volume_key(ctx, h);
    CK_MECHANISM mech{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    std::vector<uint8_t> out = header(Mechanism::aes_kwp);
    out.push_back(static_cast<uint8_t>(len));
    CK_ULONG wrapped_len = ((len + 7) / 8) * 8 + 8;
    out.resize(kHeader + 1 + wrapped_len);
    check_rv(ctx.fn->C_WrapKey(ctx.session, &mech, key.handle, volume_key.get(), out.data() + kHeader + 1,
                               &wrapped_len),
             "C_WrapKey (CKM_AES_KEY_WRAP_PAD)");
    out.resize(kHeader + 1 + wrapped_len);
    return out;
}

sdk::SecretBuffer unwrap_kwp(const TokenContext &ctx, const KeyObject &key, const cmkfs_host &host, const uint8_t *blob,
                        size_t len) {
    if (len < kHeader + 1 + 16 || (len - kHeader - 1) % 8 != 0)
        throw P11Error(CMKFS_ERR_INVALID, "wrapped key (aes-kwp) has a bad length");
    const size_t plain_len = blob[kHeader];
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_KEY_TYPE, &type, sizeof type},
                           {CKA_TOKEN, &no, sizeof no},
                           {CKA_SENSITIVE, &no, sizeof no},
                           {CKA_EXTRACTABLE, &yes, sizeof yes}};
    CK_MECHANISM mech{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    check_rv(ctx.fn->C_UnwrapKey(ctx.session, &mech, key.handle, const_cast<uint8_t *>(blob + kHeader + 1),
                                 len - kHeader - 1, tmpl, 5, &h),
             "C_UnwrapKey (CKM_AES_KEY_WRAP_PAD)");
    TransientKey volume_key(ctx, h);
    sdk::SecretBuffer plain(host, len - kHeader);
    CK_ATTRIBUTE value{CKA_VALUE, plain.data(), plain.size()};
    check_rv(ctx.fn->C_GetAttributeValue(ctx.session, volume_key.get(), &value, 1), "reading the unwrapped volume key");
    // SoftHSM2 2.6 returns the value with its RFC 5649 zero padding still on:
    // the recorded length says where the key ends; the rest must be padding.
    if (value.ulValueLen < plain_len || value.ulValueLen >= plain_len + 8)
        throw P11Error(CMKFS_ERR_INVALID, "wrapped key (aes-kwp) does not match its recorded length");
    for (size_t i = plain_len; i < value.ulValueLen; ++i)
        if (plain.data()[i] != 0) throw P11Error(CMKFS_ERR_INVALID, "wrapped key (aes-kwp) has bad padding");
    plain.resize_down(plain_len);
    return plain;
}

}  // namespace

MechanismChoice parse_mechanism(const std::string &name) {
    if (name == "auto") return MechanismChoice::automatic;
    if (name == "aes-gcm") return MechanismChoice::aes_gcm;
    if (name == "aes-kwp") return MechanismChoice::aes_kwp;
    throw P11Error(CMKFS_ERR_INVALID, "option mechanism= must be auto, aes-gcm or aes-kwp, not '" + name.substr(0, 32) + "'");
}

Mechanism choose_mechanism(MechanismChoice choice, const KeyObject &key, const std::string &key_name) {
    const bool gcm = key.can_encrypt && key.can_decrypt;
    const bool kwp = key.can_wrap && key.can_unwrap;
    switch (choice) {
        case MechanismChoice::aes_gcm:
            if (!gcm) break;
            return Mechanism::aes_gcm;
        case MechanismChoice::aes_kwp:
            if (!kwp) break;
            return Mechanism::aes_kwp;
        case MechanismChoice::automatic:
            if (gcm) return Mechanism::aes_gcm;
            if (kwp) return Mechanism::aes_kwp;
            break;
    }
    const char *needs = choice == MechanismChoice::aes_gcm   ? "CKA_ENCRYPT and CKA_DECRYPT (mechanism aes-gcm)"
                        : choice == MechanismChoice::aes_kwp ? "CKA_WRAP and CKA_UNWRAP (mechanism aes-kwp)"
                                                             : "CKA_ENCRYPT+CKA_DECRYPT or CKA_WRAP+CKA_UNWRAP";
    throw P11Error(CMKFS_ERR_DENIED, key_name + " does not permit " + needs);
}

std::vector<uint8_t> wrap_key(const TokenContext &ctx, const KeyObject &key, Mechanism mech, const uint8_t *plain,
                              size_t plain_len) {
    return mech == Mechanism::aes_gcm ? wrap_gcm(ctx, key, plain, plain_len) : wrap_kwp(ctx, key, plain, plain_len);
}

sdk::SecretBuffer unwrap_key(const TokenContext &ctx, const KeyObject &key, const cmkfs_host &host, const uint8_t *blob,
                        size_t blob_len) {
    if (blob_len < kHeader || std::memcmp(blob, kMagic, sizeof kMagic) != 0)
        throw P11Error(CMKFS_ERR_INVALID, "wrapped key was not made by the pkcs11 provider");
    if (blob[6] != kVersion)
        throw P11Error(CMKFS_ERR_INVALID, "wrapped key has unknown pkcs11 format version " + std::to_string(blob[6]));
    switch (static_cast<Mechanism>(blob[7])) {
        case Mechanism::aes_gcm: return unwrap_gcm(ctx, key, host, blob, blob_len);
        case Mechanism::aes_kwp: return unwrap_kwp(ctx, key, host, blob, blob_len);
    }
    throw P11Error(CMKFS_ERR_INVALID, "wrapped key names unknown mechanism " + std::to_string(blob[7]));
}

}  // namespace cmkfs::p11
