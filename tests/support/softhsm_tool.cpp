// cmkfs-test-softhsm: the few token changes tests make behind a provider's
// back, done through the PKCS#11 module in a process of their own (a module
// reads SOFTHSM2_CONF once per process, and a test must not share its
// C_Initialize with the plugin under test).
//
//   import-key MODULE TOKEN PIN LABEL ID_HEX USAGE   (stdin: the key value, hex)
//   delete-key MODULE TOKEN PIN LABEL
//   set-pin    MODULE TOKEN OLD_PIN NEW_PIN
//
// USAGE is a subset of "edwu": encrypt, decrypt, wrap, unwrap. Imported keys
// are AES, token objects, private, sensitive and not extractable, like a
// customer's key would be. Exit 0 on success, 1 with a message on stderr.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void ok(CK_RV rv, const char *what) {
    if (rv != CKR_OK) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s failed: CKR 0x%lx", what, static_cast<unsigned long>(rv));
        throw Failure(buf);
    }
}

std::vector<CK_BYTE> from_hex(const std::string &hex) {
    if (hex.size() % 2 != 0) throw Failure("odd-length hex");
    std::vector<CK_BYTE> out;
    for (size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<CK_BYTE>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// One initialized module with a session on the token labelled `token`.
class Session {
public:
    Session(const std::string &module, const std::string &token) {
        lib_ = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (lib_ == nullptr) throw Failure(std::string("dlopen: ") + ::dlerror());
        auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib_, "C_GetFunctionList"));
        if (get == nullptr) throw Failure("module lacks C_GetFunctionList");
        ok(get(&f_), "C_GetFunctionList");
        CK_C_INITIALIZE_ARGS args{};
        args.flags = CKF_OS_LOCKING_OK;
        ok(f_->C_Initialize(&args), "C_Initialize");
        CK_ULONG n = 0;
        ok(f_->C_GetSlotList(CK_TRUE, nullptr, &n), "C_GetSlotList");
        std::vector<CK_SLOT_ID> slots(n);
        ok(f_->C_GetSlotList(CK_TRUE, slots.data(), &n), "C_GetSlotList");
        for (CK_ULONG i = 0; i < n; ++i) {
            CK_TOKEN_INFO info{};
            if (f_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
            std::string label(reinterpret_cast<const char *>(info.label), sizeof info.label);
            label.erase(label.find_last_not_of(' ') + 1);
            if (label == token) {
                ok(f_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session_),
                   "C_OpenSession");
                return;
            }
        }
        throw Failure("no token labelled " + token);
    }
    ~Session() {
        if (session_ != CK_INVALID_HANDLE) f_->C_CloseSession(session_);
        f_->C_Finalize(nullptr);
        ::dlclose(lib_);
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    void login(const std::string &pin) {
        std::string p = pin;
        ok(f_->C_Login(session_, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(p.data()), p.size()), "C_Login");
    }

    std::vector<CK_OBJECT_HANDLE> find(const std::string &label) {
        std::string l = label;
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, l.data(), l.size()}};
        ok(f_->C_FindObjectsInit(session_, tmpl, 2), "C_FindObjectsInit");
        std::vector<CK_OBJECT_HANDLE> out(16);
        CK_ULONG n = 0;
        CK_RV rv = f_->C_FindObjects(session_, out.data(), out.size(), &n);
        f_->C_FindObjectsFinal(session_);
        ok(rv, "C_FindObjects");
        out.resize(n);
        return out;
    }

    CK_FUNCTION_LIST_PTR f_ = nullptr;
    CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;

private:
    void *lib_ = nullptr;
};

void import_key(Session &s, std::string label, std::vector<CK_BYTE> id, std::vector<CK_BYTE> value,
                const std::string &usage) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    auto flag = [&](char c) { return usage.find(c) != std::string::npos ? &yes : &no; };
    std::vector<CK_ATTRIBUTE> t = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &kt, sizeof kt},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_LABEL, label.data(), label.size()},
        {CKA_ID, id.data(), id.size()},
        {CKA_VALUE, value.data(), value.size()},
        {CKA_ENCRYPT, flag('e'), sizeof yes},
        {CKA_DECRYPT, flag('d'), sizeof yes},
        {CKA_WRAP, flag('w'), sizeof yes},
        {CKA_UNWRAP, flag('u'), sizeof yes},
    };
    CK_OBJECT_HANDLE h;
    ok(s.f_->C_CreateObject(s.session_, t.data(), t.size(), &h), "C_CreateObject");
}

int run(const std::vector<std::string> &a) {
    if (a.size() == 7 && a[0] == "import-key") {
        std::string hex;
        std::getline(std::cin, hex);
        Session s(a[1], a[2]);
        s.login(a[3]);
        if (!s.find(a[4]).empty()) throw Failure("a key labelled " + a[4] + " exists already");
        import_key(s, a[4], from_hex(a[5]), from_hex(hex), a[6]);
        return 0;
    }
    if (a.size() == 5 && a[0] == "delete-key") {
        Session s(a[1], a[2]);
        s.login(a[3]);
        auto found = s.find(a[4]);
        if (found.empty()) throw Failure("no key labelled " + a[4]);
        for (auto h : found) ok(s.f_->C_DestroyObject(s.session_, h), "C_DestroyObject");
        return 0;
    }
    if (a.size() == 5 && a[0] == "set-pin") {
        Session s(a[1], a[2]);
        s.login(a[3]);
        std::string old_pin = a[3], new_pin = a[4];
        ok(s.f_->C_SetPIN(s.session_, reinterpret_cast<CK_UTF8CHAR_PTR>(old_pin.data()), old_pin.size(),
                          reinterpret_cast<CK_UTF8CHAR_PTR>(new_pin.data()), new_pin.size()),
           "C_SetPIN");
        return 0;
    }
    throw Failure("usage: import-key|delete-key|set-pin ... (see the source)");
}

}  // namespace

int main(int argc, char **argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception &e) {
        std::cerr << "cmkfs-test-softhsm: " << e.what() << "\n";
        return 1;
    }
}
