/* hash: SHA-256 digests (OpenSSL EVP) and their text form "sha256:<hex>". */
#ifndef AIRLOCK_LIB_HASH_H
#define AIRLOCK_LIB_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define DIGEST_LEN 32
#define DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DIGEST_STR_SIZE (7 + DIGEST_HEX_LEN + 1)

struct digest {
	uint8_t b[DIGEST_LEN];
};

struct hasher; /* opaque, wraps EVP_MD_CTX */

struct hasher *hasher_new(void); /* aborts on OOM */
void hasher_update(struct hasher *h, const void *data, size_t len);
/* Finishes the digest; the hasher may be reused after hasher_reset. */
void hasher_final(struct hasher *h, struct digest *ret);
void hasher_reset(struct hasher *h);
void hasher_free(struct hasher *h);

void digest_buffer(const void *data, size_t len, struct digest *ret);

/* Writes 64 lowercase hex digits and a NUL into out[DIGEST_HEX_LEN + 1]. */
void digest_to_hex(const struct digest *d, char *out);
/* Writes "sha256:<hex>" into out[DIGEST_STR_SIZE]. */
void digest_to_str(const struct digest *d, char *out);
/* Parses "sha256:<hex>" or bare <hex> (64 lowercase hex). Returns 0 or
 * -EINVAL (err not filled: callers name the input). */
int digest_parse(const char *s, struct digest *ret);
/* True if s is a digest string ("sha256:" + 64 lowercase hex), whole. */
bool digest_str_valid(const char *s);
bool digest_equal(const struct digest *a, const struct digest *b);
bool digest_is_zero(const struct digest *d);

#endif
