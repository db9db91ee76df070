#include "key_object.h"

#include "ck_error.h"

namespace cmkfs::p11 {

namespace {

// Reads a variable-length attribute (label, id) that is never sensitive.
std::vector<uint8_t> bytes_attribute(const TokenContext &ctx, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (ctx.fn->C_GetAttributeValue(ctx.session, h, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return {};
    std::vector<uint8_t> out(a.ulValueLen);
    a.pValue = out.data();
    if (ctx.fn->C_GetAttributeValue(ctx.session, h, &a, 1) != CKR_OK) return {};
    out.resize(a.ulValueLen);
    return out;
}

class FindGuard {
public:
    explicit FindGuard(const TokenContext &ctx) : ctx_(ctx) {}
    ~FindGuard() { ctx_.fn->C_FindObjectsFinal(ctx_.session); }
    FindGuard(const FindGuard &) = delete;
    FindGuard &operator=(const FindGuard &) = delete;

private:
    const TokenContext &ctx_;
};

}  // namespace

KeyObject find_key(const TokenContext &ctx, const KeyUri &uri) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    std::string label = uri.object.value_or("");
    std::vector<uint8_t> id = uri.id.value_or(std::vector<uint8_t>{});
    std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &cls, sizeof cls}};
    if (uri.object) tmpl.push_back({CKA_LABEL, label.data(), label.size()});
    if (uri.id) tmpl.push_back({CKA_ID, id.data(), id.size()});

    CK_OBJECT_HANDLE found[2];
    CK_ULONG count = 0;
    check_rv(ctx.fn->C_FindObjectsInit(ctx.session, tmpl.data(), tmpl.size()), "C_FindObjectsInit");
    {
        FindGuard guard(ctx);
        check_rv(ctx.fn->C_FindObjects(ctx.session, found, 2, &count), "C_FindObjects");
    }
    KeyUri what;
    what.object = uri.object;
    what.id = uri.id;
    const std::string name = format_key_uri(what).substr(7) + " on token " + ctx.token_label;
    if (count == 0) throw P11Error(CMKFS_ERR_NOT_FOUND, "no secret key " + name);
    if (count > 1) throw P11Error(CMKFS_ERR_INVALID, "several secret keys match " + name + "; add id= to the key id");

    KeyObject key;
    key.handle = found[0];
    CK_BBOOL enc = CK_FALSE, dec = CK_FALSE, wrap = CK_FALSE, unwrap = CK_FALSE;
    CK_ATTRIBUTE attrs[] = {{CKA_KEY_TYPE, &key.key_type, sizeof key.key_type},
                            {CKA_ENCRYPT, &enc, sizeof enc},
                            {CKA_DECRYPT, &dec, sizeof dec},
                            {CKA_WRAP, &wrap, sizeof wrap},
                            {CKA_UNWRAP, &unwrap, sizeof unwrap}};
    check_rv(ctx.fn->C_GetAttributeValue(ctx.session, key.handle, attrs, 5), "reading the attributes of " + name);
    if (key.key_type != CKK_AES) throw P11Error(CMKFS_ERR_INVALID, name + " is not an AES key");
    key.can_encrypt = enc == CK_TRUE;
    key.can_decrypt = dec == CK_TRUE;
    key.can_wrap = wrap == CK_TRUE;
    key.can_unwrap = unwrap == CK_TRUE;
    const auto l = bytes_attribute(ctx, key.handle, CKA_LABEL);
    key.label.assign(l.begin(), l.end());
    key.id = bytes_attribute(ctx, key.handle, CKA_ID);
    return key;
}

std::string versioned_key_id(const KeyUri &asked, const TokenContext &ctx, const KeyObject &key) {
    KeyUri out;
    if (!ctx.token_label.empty()) out.token = ctx.token_label;
    out.manufacturer = asked.manufacturer;
    out.model = asked.model;
    out.serial = asked.serial;
    if (!key.label.empty()) out.object = key.label;
    if (!key.id.empty()) out.id = key.id;
    out.type = "secret-key";
    return format_key_uri(out);
}

}  // namespace cmkfs::p11
