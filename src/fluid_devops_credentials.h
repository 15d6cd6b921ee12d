/*
 * The Basic-auth credentials a DevOps service hook sends, checked for shape
 * and turned into the token hash Fluid stores: plain C on OpenSSL, with no
 * nginx types, so it can be unit-tested alone.
 */

#ifndef _FLUID_DEVOPS_CREDENTIALS_H_INCLUDED_
#define _FLUID_DEVOPS_CREDENTIALS_H_INCLUDED_


#include <stddef.h>


#define FLUID_DEVOPS_TOKEN_HASH_LEN   32
#define FLUID_DEVOPS_USERNAME_MAX     256
#define FLUID_DEVOPS_TOKEN_MAX        512


typedef enum {
    FLUID_DEVOPS_CREDENTIALS_OK = 0,
    FLUID_DEVOPS_CREDENTIALS_NO_USERNAME,
    FLUID_DEVOPS_CREDENTIALS_BAD_USERNAME,
    FLUID_DEVOPS_CREDENTIALS_NO_TOKEN,
    FLUID_DEVOPS_CREDENTIALS_BAD_TOKEN,
    FLUID_DEVOPS_CREDENTIALS_ERROR
} fluid_devops_credentials_rc_e;


/*
 * Checks a decoded user name and token and computes SHA-256 of the token's
 * bytes into hash; the caller wipes the token afterwards.
 */
fluid_devops_credentials_rc_e fluid_devops_credentials_hash(
    const unsigned char *user, size_t user_len,
    const unsigned char *token, size_t token_len,
    unsigned char hash[FLUID_DEVOPS_TOKEN_HASH_LEN]);

const char *fluid_devops_credentials_strerror(
    fluid_devops_credentials_rc_e rc);

/* releases what the first hash fetched; for the end of the process */
void fluid_devops_credentials_cleanup(void);


#endif /* _FLUID_DEVOPS_CREDENTIALS_H_INCLUDED_ */
