/*
 * Checking of decoded Basic-auth credentials and hashing of the personal
 * access token, the way Fluid stores it (SHA-256 of the token's bytes).
 */

#include <openssl/evp.h>

#include "fluid_devops_credentials.h"


static int fluid_devops_credentials_printable(const unsigned char *s,
    size_t len);


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

    if (user_len > FLUID_DEVOPS_USERNAME_MAX
        || !fluid_devops_credentials_printable(user, user_len))
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


const char *
fluid_devops_credentials_strerror(fluid_devops_credentials_rc_e rc)
{
    switch (rc) {

    case FLUID_DEVOPS_CREDENTIALS_OK:
        return "valid";

    case FLUID_DEVOPS_CREDENTIALS_NO_USERNAME:
        return "empty user name";

    case FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME:
        return "user name too long or with control characters";

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
