// fuzz-sources: builder/manifest.c lib/store.c lib/hash.c lib/err.c lib/xalloc.c lib/buf.c lib/fsutil.c
// fuzz-pkgs: libcrypto libzstd jansson
/* libFuzzer target for manifest_decode, the strict parser of image
 * manifests (bundles and imported stores are untrusted). An accepted input
 * must be canonical: re-encoding gives the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct err err = {0};
	if (manifest_decode(data, size, &m, &err) == 0) {
		size_t len;
		char *again = manifest_encode(&m, &len);
		if (len != size || memcmp(again, data, size))
			abort();
		free(again);
		manifest_release(&m);
	}
	return 0;
}
