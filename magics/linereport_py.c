/* The line profiler's report: its tables copied into the protocol's
 * plain blocks, and memory_profiler's text of them. Reads the profiler
 * through pm_lineprof_target only. GIL held. */
#include "internal.h"

/* Copy the tables into the protocol's plain structs; blocks whose code
 * never ran are left out (memory_profiler prints one block per function
 * that ran). lines_out holds all lines of all blocks. */
int pm_lineprof_blocks(const pm_lineprof_t *s, pm_mprun_block_t **blocks_out,
                       size_t *nblocks, pm_mprun_line_t **lines_out)
{
    size_t total = 0, ntargets = pm_lineprof_ntargets(s);
    pm_lineprof_view_t t, u;
    for (size_t i = 0; i < ntargets; i++) {
        pm_lineprof_target(s, i, &t);
        total += (size_t)pm_linetable_nlines(t.table);
    }
    pm_mprun_block_t *blocks = PyMem_Calloc(ntargets + 1, sizeof *blocks);
    pm_mprun_line_t *lines = PyMem_Calloc(total + 1, sizeof *lines);
    if (blocks == NULL || lines == NULL) {
        PyMem_Free(blocks);
        PyMem_Free(lines);
        PyErr_NoMemory();
        return -1;
    }
    size_t nb = 0, nl = 0;
    for (size_t i = 0; i < ntargets; i++) {
        pm_lineprof_target(s, i, &t);
        if (t.top != i) {
            continue; /* nested: its lines are in its top's table */
        }
        uint64_t calls = 0; /* frames of the block: its own and nested */
        for (size_t j = i; j < ntargets; j++) {
            pm_lineprof_target(s, j, &u);
            calls += u.top == i ? pm_linetable_calls(u.table) : 0;
        }
        if (calls == 0) {
            continue;
        }
        int first = pm_linetable_first_line(t.table);
        int n = pm_linetable_nlines(t.table);
        pm_mprun_block_t *b = &blocks[nb++];
        b->filename = PyUnicode_AsUTF8(t.filename);
        b->function = PyUnicode_AsUTF8(t.qualname);
        b->first_line = first;
        b->nlines = (size_t)n;
        b->lines = &lines[nl];
        for (int k = 0; k < n; k++) {
            const pm_line_stat_t *ls = pm_linetable_get(t.table, first + k);
            pm_mprun_line_t *l = &lines[nl++];
            l->lineno = first + k;
            l->source = "";
            if (t.lines != NULL &&
                first + k - 1 < PyList_GET_SIZE(t.lines)) {
                PyObject *src = PyList_GET_ITEM(t.lines, first + k - 1);
                const char *u =
                    PyUnicode_Check(src) ? PyUnicode_AsUTF8(src) : NULL;
                l->source = u != NULL ? u : "";
            }
            l->occurrences = ls->occurrences;
            l->mem_bytes = ls->mem_max_bytes;
            l->increment_bytes = ls->increment_bytes;
            l->peak_bytes = ls->peak_bytes;
        }
        if (b->filename == NULL || b->function == NULL) {
            PyMem_Free(blocks);
            PyMem_Free(lines);
            return -1;
        }
    }
    *blocks_out = blocks;
    *nblocks = nb;
    *lines_out = lines;
    return 0;
}


char *pm_lineprof_text(const pm_lineprof_t *lp, int precision)
{
    pm_mprun_block_t *blocks = NULL;
    pm_mprun_line_t *lines = NULL;
    size_t nblocks = 0;
    if (pm_lineprof_blocks(lp, &blocks, &nblocks, &lines) < 0) {
        return NULL;
    }
    pm_mprun_t m = {
        .statement = "",
        .precision = precision,
        .nblocks = nblocks,
        .blocks = blocks,
    };
    char *text = pm_mprun_render_text(&m);
    PyMem_Free(blocks);
    PyMem_Free(lines);
    if (text == NULL) {
        PyErr_NoMemory();
    }
    return text;
}
