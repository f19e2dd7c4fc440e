/* replaydiff: the differing paths of two output trees, as data for the
 * replay report (names quoted for terminals). */
#include "snapshot/replaydiff.h"

#include "lib/buf.h"
#include "snapshot/changeset.h"
#include "snapshot/quote.h"

int replaydiff_paths(struct store *s, const struct digest *expected, const struct digest *got,
		     json_t *diffs, struct err *err)
{
	struct changeset_opts opts = {.include_ignored = true, .no_renames = true};
	struct changeset *cs = NULL;
	int r = changeset_compute(s, expected, got, &opts, &cs, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		char status[2] = {(char)c->kind, '\0'};
		struct buf q = BUF_INIT;
		quote_path(&q, "", c->path, 0);
		json_array_append_new(diffs, json_pack("{s:s,s:s,s:s}", "status", status, "path", c->path,
						       "quoted_path", q.data ? q.data : ""));
		buf_release(&q);
	}
	changeset_free(cs);
	return 0;
}
