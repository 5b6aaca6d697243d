/* libFuzzer target: the git index reader must reject or decode any bytes,
 * never read out of bounds.  `make fuzz`, then
 * build-fuzz/fuzz_index tests/fuzz/seeds/fuzz_index */
#include <stddef.h>
#include <stdint.h>

#include "../../src/bootstrap/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idx ix;
	struct ferr e = FERR_INIT;

	if (idx_parse(&ix, "index", data, size, &e) == 0) {
		/* touch what the status will touch */
		size_t sum = 0;
		for (size_t i = 0; i < ix.count; i++)
			sum += ix.entries[i].path_len + (size_t)ix.entries[i].path[0];
		if (ix.tree)
			(void)idx_tree_child(ix.tree, "a", 1);
		(void)sum;
	}
	idx_release(&ix);
	return 0;
}
