/* The controllable test provider (tests only): its answer is whatever the
 * state file says, re-read on every call, so a test can revoke, disable or
 * break the key while a mount is running.
 *
 * Options:
 *   state=PATH     one word: ok | denied | disabled | not_found | unavailable
 *                  | invalid | internal  (missing file -> unavailable)
 *   key_hex=HEX    64 hex digits: the AES-256-GCM key used to wrap
 *   calls=PATH     optional: one line "<op> <status>" appended per call
 *
 * Wrapped format: nonce (12) || ciphertext || tag (16). versioned_key_id is
 * the key id as given. The identity is ignored.
 */
#include <cmkfs/provider.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define NONCE 12
#define TAG 16

typedef struct instance {
    char state[1024];
    char calls[1024];
    unsigned char key[32];
} instance;

static void msg(cmkfs_result *r, const char *text) {
    if (r) snprintf(r->message, sizeof r->message, "%s", text);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void record(const instance *in, const char *op, cmkfs_status st) {
    if (in->calls[0] == '\0') return;
    int fd = open(in->calls, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %d\n", op, (int)st);
    if (write(fd, line, (size_t)n) < 0) { /* best effort */ }
    close(fd);
}

/* The status the state file asks for, with a message in r. */
static cmkfs_status state_status(const instance *in, cmkfs_result *r) {
    char buf[64] = {0};
    int fd = open(in->state, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        msg(r, "testctl: state file unreadable");
        return CMKFS_ERR_UNAVAILABLE;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = '\0';
    char *end = buf + strlen(buf);
    while (end > buf && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\r' || end[-1] == '\t'))
        *--end = '\0';
    static const struct { const char *word; cmkfs_status st; const char *text; } map[] = {
        {"ok", CMKFS_OK, ""},
        {"denied", CMKFS_ERR_DENIED, "testctl: denied: identity lacks permission"},
        {"disabled", CMKFS_ERR_DISABLED, "testctl: key is disabled"},
        {"not_found", CMKFS_ERR_NOT_FOUND, "testctl: key not found"},
        {"unavailable", CMKFS_ERR_UNAVAILABLE, "testctl: key service unavailable"},
        {"invalid", CMKFS_ERR_INVALID, "testctl: invalid request"},
        {"internal", CMKFS_ERR_INTERNAL, "testctl: internal error"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; ++i)
        if (strcmp(buf, map[i].word) == 0) {
            if (map[i].st != CMKFS_OK) msg(r, map[i].text);
            return map[i].st;
        }
    msg(r, "testctl: unknown word in state file");
    return CMKFS_ERR_INTERNAL;
}

static void set_kid(cmkfs_result *r, const cmkfs_key_ref *key) {
    if (r && key && key->key_id) snprintf(r->versioned_key_id, sizeof r->versioned_key_id, "%s", key->key_id);
}

static cmkfs_status t_open(const cmkfs_host *host, const char *const *options, void **out,
                           cmkfs_result *r) {
    (void)host;
    instance *in = calloc(1, sizeof *in);
    if (!in) return CMKFS_ERR_INTERNAL;
    int have_key = 0;
    for (const char *const *o = options; o && *o; ++o) {
        if (strncmp(*o, "state=", 6) == 0) {
            snprintf(in->state, sizeof in->state, "%s", *o + 6);
        } else if (strncmp(*o, "calls=", 6) == 0) {
            snprintf(in->calls, sizeof in->calls, "%s", *o + 6);
        } else if (strncmp(*o, "key_hex=", 8) == 0) {
            const char *h = *o + 8;
            have_key = 0;
            if (strlen(h) != 64) continue;
            have_key = 1;
            for (int i = 0; i < 32; ++i) {
                int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
                if (hi < 0 || lo < 0) { have_key = 0; break; }
                in->key[i] = (unsigned char)(hi * 16 + lo);
            }
        }
    }
    if (in->state[0] == '\0' || !have_key) {
        OPENSSL_cleanse(in, sizeof *in);
        free(in);
        msg(r, "testctl: needs options state=PATH and key_hex=<64 hex digits>");
        return CMKFS_ERR_INVALID;
    }
    *out = in;
    return CMKFS_OK;
}

static void t_close(void *p) {
    if (!p) return;
    OPENSSL_cleanse(p, sizeof(instance));
    free(p);
}

static cmkfs_status t_wrap(void *p, const cmkfs_key_ref *key, const uint8_t *plain,
                           size_t plain_len, uint8_t *wrapped, size_t *wrapped_len,
                           cmkfs_result *r) {
    instance *in = p;
    cmkfs_status st = state_status(in, r);
    if (st != CMKFS_OK) {
        record(in, "wrap", st);
        return st;
    }
    size_t need = NONCE + plain_len + TAG;
    set_kid(r, key);
    if (*wrapped_len < need) {
        *wrapped_len = need;
        return CMKFS_ERR_BUFFER_TOO_SMALL;
    }
    st = CMKFS_ERR_INTERNAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    if (ctx && RAND_bytes(wrapped, NONCE) == 1 &&
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, in->key, wrapped) == 1 &&
        EVP_EncryptUpdate(ctx, wrapped + NONCE, &len, plain, (int)plain_len) == 1 &&
        EVP_EncryptFinal_ex(ctx, wrapped + NONCE + len, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG, wrapped + NONCE + plain_len) == 1) {
        *wrapped_len = need;
        st = CMKFS_OK;
    } else {
        msg(r, "testctl: encryption failed");
    }
    EVP_CIPHER_CTX_free(ctx);
    record(in, "wrap", st);
    return st;
}

static cmkfs_status t_unwrap(void *p, const cmkfs_key_ref *key, const uint8_t *wrapped,
                             size_t wrapped_len, uint8_t *plain, size_t *plain_len,
                             cmkfs_result *r) {
    (void)key;
    instance *in = p;
    cmkfs_status st = state_status(in, r);
    if (st != CMKFS_OK) {
        record(in, "unwrap", st);
        return st;
    }
    if (wrapped_len < NONCE + TAG) {
        msg(r, "testctl: wrapped key too short");
        record(in, "unwrap", CMKFS_ERR_INVALID);
        return CMKFS_ERR_INVALID;
    }
    size_t n = wrapped_len - NONCE - TAG;
    if (*plain_len < n) {
        *plain_len = n;
        return CMKFS_ERR_BUFFER_TOO_SMALL;
    }
    st = CMKFS_ERR_INVALID;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    if (ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, in->key, wrapped) == 1 &&
        EVP_DecryptUpdate(ctx, plain, &len, wrapped + NONCE, (int)n) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG, (void *)(wrapped + NONCE + n)) == 1 &&
        EVP_DecryptFinal_ex(ctx, plain + len, &fin) == 1) {
        *plain_len = n;
        st = CMKFS_OK;
    } else {
        OPENSSL_cleanse(plain, n);
        msg(r, "testctl: wrapped key does not authenticate");
    }
    EVP_CIPHER_CTX_free(ctx);
    record(in, "unwrap", st);
    return st;
}

static cmkfs_status t_check(void *p, const cmkfs_key_ref *key, cmkfs_result *r) {
    instance *in = p;
    cmkfs_status st = state_status(in, r);
    if (st == CMKFS_OK) set_kid(r, key);
    record(in, "check", st);
    return st;
}

static const cmkfs_provider table = {
    sizeof(cmkfs_provider), CMKFS_PROVIDER_ABI_VERSION, "testctl",
    "test provider driven by a state file (tests only)",
    t_open, t_close, t_wrap, t_unwrap, t_check,
};

EXPORT const cmkfs_provider *cmkfs_provider_entry(const cmkfs_host *host) {
    (void)host;
    return &table;
}
