/* A program that runs one mapped layer alone (spatial_codegen.h): what
 * `dnnc map --simulate` and the tests use to check a mapping by executing
 * it. */
#include <string.h>

#include "loopnest.h"
#include "spatial_codegen.h"

static SpatialLayerPlan plan_of(const MapLayer *l)
{
    const int64_t *d = l->dim;
    SpatialLayerPlan o;
    o.ifmap = 0;
    o.filter = o.ifmap + (uint64_t)(d[DIM_N] * l->groups * d[DIM_C] * l->in_h * l->in_w);
    o.bias = o.filter + (uint64_t)(l->groups * d[DIM_M] * d[DIM_C] * d[DIM_R] * d[DIM_S]);
    o.ofmap = o.bias + (uint64_t)(l->groups * d[DIM_M]);
    o.words = o.ofmap + (uint64_t)(d[DIM_N] * l->groups * d[DIM_M] * d[DIM_P] * d[DIM_Q]);
    return o;
}

bool spatial_layer_program(const SpatialArch *a, const MapLayer *l, const Mapping *m,
                           const SpatialLayerCode *numbers, IsaProgram *out,
                           SpatialLayerPlan *plan, char *err, size_t errsz)
{
    isa_program_init(out);
    spatial_machine_from_arch(a, &out->machine);
    *plan = plan_of(l);
    out->dram_words = plan->words;
    int64_t id = isa_program_add_layer(out, l->name, err, errsz);
    if (id < 0)
        return false;
    Mapping canon = *m;
    mapping_canonicalize(l, &canon);
    SpatialLayerCode code = numbers ? *numbers : (SpatialLayerCode){0};
    code.layer = l;
    code.mapping = &canon;
    code.layer_id = id;
    code.ifmap = plan->ifmap, code.filter = plan->filter;
    code.bias = plan->bias, code.ofmap = plan->ofmap;
    SpatialEmitter e;
    spatial_emitter_init(&e, out);
    return spatial_emit_layer(&e, &code, err, errsz) && spatial_emit_finish(&e, err, errsz);
}
