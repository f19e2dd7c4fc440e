// fuzz-sources: builder/oci-import.c builder/tartree.c builder/manifest.c lib/tree.c lib/store.c lib/hash.c lib/err.c lib/xalloc.c lib/buf.c lib/fsutil.c
// fuzz-pkgs: libarchive libcrypto libzstd jansson
/* libFuzzer target for the OCI importer: the input bytes are an archive
 * file, imported both as oci-archive: and as docker-archive: into a
 * scratch store with small limits. Besides not crashing or leaking, every
 * failure must carry a message and a negative code, and no ref may ever
 * be written by oci_import_archive (it records nothing). Link with
 * -larchive -ljansson -lzstd -lcrypto. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/oci.h"
#include "lib/fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;
static char path[256];

static void init(void)
{
	const char *base = getenv("AIRLOCK_TEST_TMP") ?: "/dev/shm";
	char dir[200];
	snprintf(dir, sizeof dir, "%s/fuzz-oci-XXXXXX", base);
	if (!mkdtemp(dir))
		abort();
	char st[230];
	snprintf(st, sizeof st, "%s/store", dir);
	snprintf(path, sizeof path, "%s/input.tar", dir);
	struct err err = {0};
	if (store_open(st, STORE_CREATE, &store, &err) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!store)
		init();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fs_write_all(fd, data, size) < 0)
		abort();
	close(fd);
	static const char *const transports[] = {"oci-archive:", "docker-archive:"};
	struct oci_import_opts opts = {
		.max_entries = 1000, .max_bytes = 1 << 20, .max_blob_bytes = 4 << 20};
	for (size_t i = 0; i < 2; i++) {
		char ref[300];
		snprintf(ref, sizeof ref, "%s%s", transports[i], path);
		struct err err = {0};
		struct manifest m;
		struct digest archive;
		int r = oci_import_archive(store, ref, &opts, &m, &archive, &err);
		if (r < 0) {
			if (r != err.code || !err.msg[0])
				abort();
			continue;
		}
		manifest_release(&m);
	}
	return 0;
}
