/* debian: Debian packages as image inputs: lock, fetch, unpack.
 *
 * A recipe's `PACKAGES name[=version] ...` is resolved once by the host's
 * apt (`airlock lock`) into a lock: the whole Depends/Pre-Depends closure
 * with exact versions, architectures and .deb SHA-256 digests. Builds use
 * only the lock: each .deb is fetched by digest (from a local cache, else
 * with `apt-get download`) and verified, then its data.tar is unpacked
 * into a tree. Maintainer scripts are never run (as apko and distroless).
 *
 * apt is always run with an argv (no shell), LC_ALL=C, and a status file
 * of /dev/null, so the closure is computed from scratch and does not
 * depend on what the host has installed. Package names, versions and
 * architectures are validated before they reach apt's command line (a
 * name starting with '-' would be an option).
 *
 * Lock file format: docs/FORMAT.md, "Lock files".
 */
#ifndef AIRLOCK_BUILDER_DEBIAN_H
#define AIRLOCK_BUILDER_DEBIAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/tartree.h"
#include "lib/err.h"
#include "lib/store.h"
#include "lib/tree.h"

#define DEB_LOCK_VERSION 1

/* One pinned package. All strings owned (freed by deb_lock_free). */
struct deb_pkg {
	char *name;     /* "libc6" */
	char *version;  /* "2.36-9+deb12u14" (may hold an epoch "1:...") */
	char *arch;     /* "amd64", "all", ... */
	char *sha256;   /* 64 lowercase hex: the .deb file */
	char *filename; /* "pool/main/g/glibc/libc6_..._amd64.deb" (informational) */
	uint64_t size;  /* bytes of the .deb */
};

/* A resolved lock. pkgs sorted by (name, arch), unique; requests as the
 * recipe gave them, in recipe order. Owned by whoever holds the struct. */
struct deb_lock {
	struct deb_pkg *pkgs;
	size_t n;
	char **requests;
	size_t n_requests;
};

/* Frees everything inside l and zeroes it; the struct itself is the
 * caller's (often on the stack). NULL is a no-op. */
void deb_lock_free(struct deb_lock *l);
static inline void deb_lock_freep(struct deb_lock *l)
{
	deb_lock_free(l);
}
#define _cleanup_deb_lock_ __attribute__((cleanup(deb_lock_freep)))

/* True if s is a valid request: a Debian package name
 * ([a-z0-9][a-z0-9+.-]+), optionally ":ARCH", optionally "=VERSION". */
bool deb_request_valid(const char *s);

/* 0 if apt-get/apt-cache are installed and apt has package lists; else
 * -ENOENT with a message telling what to do ("run apt-get update"). */
int deb_apt_check(struct err *err);

/* Resolves requests ("name" or "name=version", n of them) with the host's
 * apt to the full Depends/Pre-Depends closure (no Recommends/Suggests),
 * fills *ret (caller frees with deb_lock_free). Deterministic for a given
 * state of the apt lists. Errors: -EINVAL for a malformed request; -ENOENT
 * naming every package apt cannot locate ("package 'x' not found in the
 * configured apt sources"); apt's own messages for conflicts and unmet
 * dependencies; -ENOENT "run apt-get update" without lists. */
int deb_resolve(char *const *requests, size_t n, struct deb_lock *ret, struct err *err);

/* Serialises l as canonical JSON (keys sorted, no whitespace) followed by
 * one "\n". Returns a malloc'ed NUL-terminated string; never fails. Equal
 * locks give identical bytes. */
char *deb_lock_to_json(const struct deb_lock *l);

/* Parses and strictly validates a lock (an input file: it can be edited
 * by hand or by a hostile pull request). Rejects unknown or missing keys,
 * wrong types, a version other than DEB_LOCK_VERSION, invalid names,
 * versions, architectures or digests, negative or fractional sizes,
 * filenames with ".." or a leading '/', duplicate or unsorted packages and
 * invalid requests. source names the input in messages. *ret is filled
 * only on success. */
int deb_lock_from_json(const char *data, size_t len, const char *source, struct deb_lock *ret,
		       struct err *err);

/* Called with the package name and the bytes of the .deb once it has been
 * downloaded (not on a cache hit). */
typedef void (*deb_progress_fn)(const char *what, uint64_t bytes, void *userdata);

/* Returns in *ret_fd (O_RDONLY|O_CLOEXEC, offset 0, caller closes) the
 * .deb for p, verified against p->sha256 and p->size.
 *
 * cache_dfd is a directory holding "<sha256>.deb" files. A cached file is
 * re-hashed on every use; one that does not match (bit rot, a torn copy
 * from elsewhere) is deleted and downloaded again. A miss runs `apt-get
 * download NAME:ARCH=VERSION` in a private temp directory inside the
 * cache, verifies the result and renames it into place (no-replace; a
 * concurrent fetch of the same digest is fine). A digest mismatch is
 * -EBADMSG showing both digests; a version apt no longer offers is
 * -ENOENT "package X version Y is no longer available from the configured
 * apt sources; run 'airlock lock RECIPE' to relock". progress may be NULL. */
int deb_fetch(const struct deb_pkg *p, int cache_dfd, deb_progress_fn progress,
	      void *userdata, int *ret_fd, struct err *err);

/* Downloads every package of l missing from the cache with one apt-get
 * call, keeping those whose digest and size match the lock. Only an
 * optimisation: call deb_fetch for each package afterwards, which fetches
 * and reports whatever this could not. */
int deb_prefetch(const struct deb_lock *l, int cache_dfd, deb_progress_fn progress,
		 void *userdata, struct err *err);

/* Unpacks the data.tar of the .deb deb_fd into root (see tartree.h for
 * what each entry becomes); control.tar (and maintainer scripts) are
 * ignored. Reads deb_fd from offset 0 (it is seeked). The ar archive must
 * start with debian-binary "2.0\n" and hold exactly one data.tar,
 * data.tar.gz, data.tar.xz or data.tar.zst. opts may be NULL. On error
 * root may be partly modified: discard it. */
int deb_unpack(struct store *s, int deb_fd, struct tree *root, const struct tartree_opts *opts,
	       struct err *err);

#endif
