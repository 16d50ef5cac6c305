/* libFuzzer target: any assembly text that assembles runs on the simulator
 * without crashing, hanging or reading or writing outside its modelled
 * memories (ASan watches every access): a stream it cannot run is a clean
 * error. The machine is capped so that one input stays small (at most 4,096
 * PEs, 4 MB of buffer, 2^20 DRAM words), and the work by the simulator's own
 * limit on MACs. DRAM starts with a fixed pattern of small values, so that
 * the arithmetic and zero skipping have data to work on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "isa_asm.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool small_enough(const IsaProgram *p)
{
    const IsaMachine *m = &p->machine;
    return m->pe_rows * m->pe_cols <= 4096 && m->buffer_bytes <= (4 << 20) &&
           p->dram_words <= (1u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    IsaProgram p;
    FILE *quiet = fopen("/dev/null", "w");
    bool ok = isa_asm_parse("fuzz.s", (const char *)data, size, &p, quiet);
    if (quiet)
        fclose(quiet);
    if (!ok)
        return 0;
    if (small_enough(&p)) {
        int64_t *dram = malloc((p.dram_words ? p.dram_words : 1) * sizeof *dram);
        if (!dram)
            abort();
        for (uint64_t i = 0; i < p.dram_words; i++)
            dram[i] = (int64_t)(i * 2654435761u % 61) - 30;
        SimOptions o = {.max_macs = 1e6};
        SimResult r;
        char err[512];
        if (sim_run(&p, dram, &o, &r, err, sizeof err))
            sim_result_free(&r);
        free(dram);
    }
    isa_program_free(&p);
    return 0;
}
