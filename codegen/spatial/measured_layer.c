/* The analytical model's view of measured data (spatial_codegen.h). */
#include "spatial_codegen.h"

/* Bits per word as the transfers coded them; a type nothing moved costs
 * its raw width. */
static double coded_bits(double coded, double moved, int64_t word_bits)
{
    return moved > 0 ? coded * (double)word_bits / moved : (double)word_bits;
}

void spatial_measured_layer(MapLayer *l, const SimDataStats *s, int64_t word_bits)
{
    l->ifmap_rlc_bits = coded_bits(s->ifmap_coded, s->ifmap_moved, word_bits);
    l->filter_rlc_bits = coded_bits(s->filter_coded, s->filter_moved, word_bits);
    l->ofmap_rlc_bits = coded_bits(s->ofmap_coded, s->ofmap_final, word_bits);
    l->skip_measured = true;
    l->skipped_macs = s->zero_macs;
}
