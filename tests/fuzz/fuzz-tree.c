// fuzz-sources: lib/tree.c lib/store.c lib/hash.c lib/err.c lib/xalloc.c lib/buf.c lib/fsutil.c
// fuzz-pkgs: libcrypto libzstd jansson
/* libFuzzer target for tree_decode, the parser of untrusted tree objects.
 * Besides not crashing, every accepted input must be canonical: encoding
 * what was decoded gives back exactly the input bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = {0};
	struct tree_dirent *e = NULL;
	size_t n = 0;
	if (tree_decode(data, size, &e, &n, &err) < 0) {
		if (err.code != -EBADMSG || !err.msg[0])
			abort();
		return 0;
	}
	struct buf out = BUF_INIT;
	if (tree_encode(e, n, &out, &err) < 0 || out.len != size || memcmp(out.data, data, size))
		abort();
	buf_release(&out);
	tree_dirents_free(e, n);
	return 0;
}
