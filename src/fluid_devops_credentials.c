/*
 * Checking of decoded Basic-auth credentials and hashing of the personal
 * access token, the way Fluid stores it (SHA-256 of the token's bytes).
 */

#include <openssl/evp.h>

#include "fluid_devops_credentials.h"


static int fluid_devops_credentials_printable(const unsigned char *s,
    size_t len);
static int fluid_devops_credentials_utf8(const unsigned char *s, size_t len);


static EVP_MD  *sha256;


fluid_devops_credentials_rc_e
fluid_devops_credentials_hash(const unsigned char *user, size_t user_len,
    const unsigned char *token, size_t token_len,
    unsigned char hash[FLUID_DEVOPS_TOKEN_HASH_LEN])
{
    unsigned int  n;

    if (user_len == 0) {
        return FLUID_DEVOPS_CREDENTIALS_NO_USERNAME;
    }

    /* the name is compared as text: it must be UTF-8 (RFC 7617, 2.1) */
    if (user_len > FLUID_DEVOPS_USERNAME_MAX
        || !fluid_devops_credentials_printable(user, user_len)
        || !fluid_devops_credentials_utf8(user, user_len))
    {
        return FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME;
    }

    if (token_len == 0) {
        return FLUID_DEVOPS_CREDENTIALS_NO_TOKEN;
    }

    if (token_len > FLUID_DEVOPS_TOKEN_MAX
        || !fluid_devops_credentials_printable(token, token_len))
    {
        return FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN;
    }

    /* fetched once: an implicit fetch per call costs more than the hash */
    if (sha256 == NULL) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (sha256 == NULL) {
            return FLUID_DEVOPS_CREDENTIALS_ERROR;
        }
    }

    n = FLUID_DEVOPS_TOKEN_HASH_LEN;

    if (EVP_Digest(token, token_len, hash, &n, sha256, NULL) != 1
        || n != FLUID_DEVOPS_TOKEN_HASH_LEN)
    {
        return FLUID_DEVOPS_CREDENTIALS_ERROR;
    }

    return FLUID_DEVOPS_CREDENTIALS_OK;
}


void
fluid_devops_credentials_cleanup(void)
{
    EVP_MD_free(sha256);
    sha256 = NULL;
}


const char *
fluid_devops_credentials_strerror(fluid_devops_credentials_rc_e rc)
{
    switch (rc) {

    case FLUID_DEVOPS_CREDENTIALS_OK:
        return "valid";

    case FLUID_DEVOPS_CREDENTIALS_NO_USERNAME:
        return "empty user name";

    case FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME:
        return "user name too long, not UTF-8 or with control characters";

    case FLUID_DEVOPS_CREDENTIALS_NO_TOKEN:
        return "empty token";

    case FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN:
        return "token too long or with control characters";

    default:
        return "token could not be hashed";
    }
}


/* no control characters (bytes of UTF-8 sequences are fine) */

static int
fluid_devops_credentials_printable(const unsigned char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/*
 * well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or values
 * above U+10FFFF
 */

static int
fluid_devops_credentials_utf8(const unsigned char *s, size_t len)
{
    size_t        i, k, n;
    unsigned int  c, min;

    for (i = 0; i < len; i += n) {
        c = s[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 2;
            c &= 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            c &= 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            c &= 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (s[i + k] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}
