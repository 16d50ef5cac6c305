/* The describe functions of the registry rows (codegen/kernels.def): each
 * fills its kernel's descriptor for one call of a layer, sets the call's
 * parallel units (and, where they differ from the layer's, its work and
 * pointers) and returns how many calls the layer needs, or 0 if the layer
 * is beyond what the kernel's descriptor can hold. The call arrives with
 * the layer's output, operands and weights as pointers and its work set.
 *
 * They are declared from the registry itself, with the descriptor type of
 * their row, so that a row whose describe function fills another
 * descriptor than its kernel takes does not compile. */
#ifndef DNNC_DESCRIBE_H
#define DNNC_DESCRIBE_H

#include "calls.h"

#define KERNEL_ROW(op, algo, types, isa, symbol, descriptor, describe, pack) \
    int describe(const CallSite *s, KernelCall *c, descriptor *d);
#include "kernels.def"
#undef KERNEL_ROW

/* An IR tensor as the kernels see it. */
dnnk_tensor describe_tensor(const Tensor *t);

#endif
