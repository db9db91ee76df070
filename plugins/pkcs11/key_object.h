// Finding the key object a URI names on a token, what it may be used for, and
// the stable id that names exactly that object again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "module.h"
#include "pkcs11_uri.h"

namespace cmkfs::p11 {

struct KeyObject {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    CK_KEY_TYPE key_type = 0;
    bool can_encrypt = false;
    bool can_decrypt = false;
    bool can_wrap = false;
    bool can_unwrap = false;
    std::string label;
    std::vector<uint8_t> id;
};

// The one secret key matching uri's object=, id=. Throws P11Error:
// NOT_FOUND when none matches, INVALID when several do or it is not AES.
KeyObject find_key(const TokenContext &ctx, const KeyUri &uri);

// pkcs11:token=…;object=…;id=…;type=secret-key — the asked URI's token
// attributes, the token's label and the object's own label and id.
std::string versioned_key_id(const KeyUri &asked, const TokenContext &ctx, const KeyObject &key);

}  // namespace cmkfs::p11
