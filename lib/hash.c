/* hash: SHA-256 through OpenSSL's SHA256_* functions. They are marked
 * deprecated in OpenSSL 3 in favour of EVP, but EVP's first use loads the
 * provider machinery: ~1.7 ms per process, more than a whole sandbox
 * start costs us elsewhere. The low-level functions run the same
 * (SHA-NI/AVX) code without it. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "lib/hash.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

struct hasher {
	SHA256_CTX ctx;
};

struct hasher *hasher_new(void)
{
	struct hasher *h = malloc(sizeof *h);
	if (!h || SHA256_Init(&h->ctx) != 1)
		abort();
	return h;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	if (len && SHA256_Update(&h->ctx, data, len) != 1)
		abort();
}

void hasher_final(struct hasher *h, struct digest *ret)
{
	if (SHA256_Final(ret->b, &h->ctx) != 1)
		abort();
}

void hasher_reset(struct hasher *h)
{
	if (SHA256_Init(&h->ctx) != 1)
		abort();
}

void hasher_free(struct hasher *h)
{
	free(h);
}

void digest_buffer(const void *data, size_t len, struct digest *ret)
{
	SHA256_CTX ctx;
	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, len) != 1 ||
	    SHA256_Final(ret->b, &ctx) != 1)
		abort();
}

void digest_to_hex(const struct digest *d, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < DIGEST_LEN; i++) {
		out[2 * i] = hex[d->b[i] >> 4];
		out[2 * i + 1] = hex[d->b[i] & 15];
	}
	out[DIGEST_HEX_LEN] = '\0';
}

void digest_to_str(const struct digest *d, char *out)
{
	memcpy(out, "sha256:", 7);
	digest_to_hex(d, out + 7);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int digest_parse(const char *s, struct digest *ret)
{
	if (!strncmp(s, "sha256:", 7))
		s += 7;
	if (strlen(s) != DIGEST_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < DIGEST_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		ret->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

bool digest_str_valid(const char *s)
{
	struct digest d;
	return !strncmp(s, "sha256:", 7) && digest_parse(s, &d) == 0;
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
	return memcmp(a->b, b->b, DIGEST_LEN) == 0;
}

bool digest_is_zero(const struct digest *d)
{
	static const struct digest zero;
	return digest_equal(d, &zero);
}
