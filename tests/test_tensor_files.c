/* Tensor files and weights: the readers of runtime/ (npy.c, idx.c,
 * safetensors.c) on files built byte by byte in the tests, so that every
 * malformed input is one small array; each rejected file must fail with a
 * message that says what is wrong. Then round trips through the writers, and
 * weights.c: binding a safetensors file to a graph (errors name the layer,
 * the tensor, and the expected and found shape or dtype), the deterministic
 * random initialiser, and weights_save -> weights_load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_util.h"

#include "array.h"
#include "idx.h"
#include "npy.h"
#include "safetensors.h"
#include "weights.h"

/* ---- fixture: a temporary directory for files that go to disk ------------ */

static char tmp_dir[256];

static const char *path_in(const char *name) { return temp_path(tmp_dir, name); }

static int setup_dir(void **state)
{
    (void)state;
    return temp_dir_create(tmp_dir, sizeof tmp_dir, "dnnc-tensor-files") ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    return temp_dir_remove(tmp_dir);
}

/* ---- building files byte by byte --------------------------------------------- */

typedef struct Bytes {
    unsigned char b[4096];
    size_t n;
} Bytes;

static void put(Bytes *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof x->b);
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static void put_str(Bytes *x, const char *s) { put(x, s, strlen(s)); }

static void put_u8(Bytes *x, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(x, &c, 1);
}

static void put_be32(Bytes *x, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        put_u8(x, (v >> (8 * i)) & 0xff);
}

static void put_le(Bytes *x, uint64_t v, int nbytes)
{
    for (int i = 0; i < nbytes; i++)
        put_u8(x, (unsigned)(v >> (8 * i)) & 0xff);
}

static void put_zeros(Bytes *x, size_t n)
{
    assert_true(x->n + n <= sizeof x->b);
    memset(x->b + x->n, 0, n);
    x->n += n;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ---- npy ---------------------------------------------------------------------- */

/* A .npy image: magic, version major.0, the header length (2 bytes for
 * version 1, 4 for 2 and 3), the header text as given, then `data_len` bytes
 * of data (0, 1, 2, ...). */
static void npy_build(Bytes *x, int major, const char *header, size_t data_len)
{
    x->n = 0;
    put(x, "\x93NUMPY", 6);
    put_u8(x, (unsigned)major);
    put_u8(x, 0);
    put_le(x, strlen(header), major == 1 ? 2 : 4);
    put_str(x, header);
    for (size_t i = 0; i < data_len; i++)
        put_u8(x, (unsigned)i & 0xff);
}

#define NPY_F32_3 "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n"

/* npy_parse must fail, leave no array, and say `want`. */
#define assert_npy_error(x, want) check_npy_error(__FILE__, __LINE__, (x), (want))
static void check_npy_error(const char *file, int line, const Bytes *x, const char *want)
{
    Array a;
    char err[512] = "";
    if (npy_parse(x->b, x->n, &a, err, sizeof err)) {
        array_free(&a);
        print_error("%s:%d: npy_parse accepted a bad file (wanted '%s')\n", file, line, want);
        _fail(file, line);
    }
    if (a.data)
        fail_msg("npy_parse failed but left data behind");
    assert_contains_impl(err, want, file, line);
}

static void test_npy_valid_file_is_read(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 12);
    Array a;
    char err[512] = "";
    if (!npy_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("npy_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_F32);
    assert_int_equal(a.shape.rank, 1);
    assert_int_equal(a.shape.d[0], 3);
    assert_int_equal(a.nbytes, 12);
    assert_memory_equal(a.data, x.b + x.n - 12, 12);
    array_free(&a);
}

static void test_npy_version_2_header_is_read(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n", 4);
    Array a;
    char err[512] = "";
    if (!npy_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("npy_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_U8);
    assert_int_equal(a.shape.rank, 2);
    assert_int_equal(array_count(&a), 4);
    array_free(&a);
}

static void test_npy_bad_magic(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 12);
    x.b[5] = 'X'; /* \x93NUMPX */
    assert_npy_error(&x, "not a .npy file (bad magic)");
}

static void test_npy_unsupported_version(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 4, NPY_F32_3, 12);
    assert_npy_error(&x, ".npy format version 4 is not supported");
}

static void test_npy_header_length_beyond_the_file(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 12);
    x.b[8] = 0x00, x.b[9] = 0x10; /* 4096 header bytes announced */
    assert_npy_error(&x, "truncated .npy header (4096 bytes announced,");
}

static void test_npy_truncated_data(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 8);
    assert_npy_error(&x, "the data is 8 bytes but the header's shape and dtype need 12");
}

static void test_npy_trailing_data(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 16);
    assert_npy_error(&x, "the data is 16 bytes but the header's shape and dtype need 12");
}

static void test_npy_float64_is_not_supported(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", 24);
    assert_npy_error(&x, "dtype '<f8' is not supported");
}

static void test_npy_big_endian_float32_is_not_supported(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n", 12);
    assert_npy_error(&x, "dtype '>f4' is not supported");
}

static void test_npy_fortran_order_is_not_supported(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", 12);
    assert_npy_error(&x, "only C-order arrays are supported");
}

static void test_npy_malformed_dictionary(void **state)
{
    (void)state;
    Bytes x;
    /* no ',' between two entries */
    npy_build(&x, 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }\n", 12);
    assert_npy_error(&x, "malformed header dictionary");
    /* a key without quotes */
    npy_build(&x, 1, "{descr: '<f4', 'fortran_order': False, 'shape': (3,), }\n", 12);
    assert_npy_error(&x, "malformed header dictionary");
    /* not a dictionary at all */
    npy_build(&x, 1, "('<f4', False, (3,))\n", 12);
    assert_npy_error(&x, "the header is not a dictionary");
    /* a dictionary without its 'shape' */
    npy_build(&x, 1, "{'descr': '<f4', 'fortran_order': False, }\n", 12);
    assert_npy_error(&x, "the header lacks 'shape'");
    /* a shape that is not a tuple of integers */
    npy_build(&x, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, x), }\n", 12);
    assert_npy_error(&x, "'shape' holds something other than non-negative integers");
}

static void test_npy_shape_whose_product_overflows(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1,
              "{'descr': '<f4', 'fortran_order': False, "
              "'shape': (4294967296, 4294967296, 4294967296), }\n",
              12);
    assert_npy_error(&x, "the array has more than 2^48 elements");
    /* one dimension that does not even fit in 64 bits */
    npy_build(&x, 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }\n",
              12);
    assert_npy_error(&x, "a dimension in 'shape' is too large");
}

static void test_npy_rank_above_8(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }\n",
              4);
    assert_npy_error(&x, "'shape' has more than 8 dimensions");
}

static void test_npy_read_names_the_file(void **state)
{
    (void)state;
    Bytes x;
    npy_build(&x, 1, NPY_F32_3, 8);
    const char *path = path_in("short.npy");
    write_bytes(path, x.b, x.n);
    Array a;
    char err[1024] = "", want[1200];
    assert_false(npy_read(path, &a, err, sizeof err));
    snprintf(want, sizeof want, "%s: the data is 8 bytes", path);
    assert_contains(err, want);
    remove(path);
}

/* Writes `a` with npy_write, checks the header is what NumPy writes (version
 * 1.0, the data on a 64-byte boundary, the header ending in '\n', descr and
 * shape spelled as given), reads it back with npy_read and compares. */
static void npy_round_trip(const Array *a, const char *descr, const char *shape_text)
{
    const char *path = path_in("round.npy");
    char err[1024] = "";
    if (!npy_write(path, a, err, sizeof err))
        fail_msg("npy_write: %s", err);

    size_t len;
    char *raw = read_file_or_fail(path, &len);
    assert_true(len >= 10);
    assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
    size_t header_len = (unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    assert_int_equal((10 + header_len) % 64, 0);
    assert_int_equal(len, 10 + header_len + a->nbytes);
    assert_int_equal(raw[10 + header_len - 1], '\n');
    char *header = strndup(raw + 10, header_len);
    char want[128];
    snprintf(want, sizeof want, "'descr': '%s'", descr);
    assert_contains(header, want);
    assert_contains(header, "'fortran_order': False");
    snprintf(want, sizeof want, "'shape': %s", shape_text);
    assert_contains(header, want);
    free(header);
    free(raw);

    Array b;
    if (!npy_read(path, &b, err, sizeof err))
        fail_msg("npy_read: %s", err);
    assert_int_equal(b.dtype, a->dtype);
    assert_true(shape_equal(&b.shape, &a->shape));
    assert_int_equal(b.nbytes, a->nbytes);
    assert_memory_equal(b.data, a->data, a->nbytes);
    array_free(&b);
    remove(path);
}

static void test_npy_round_trip_of_every_dtype(void **state)
{
    (void)state;
    static const struct {
        ElemKind dtype;
        const char *descr;
    } kinds[] = {{ELEM_F32, "<f4"}, {ELEM_I8, "|i1"}, {ELEM_U8, "|u1"}, {ELEM_I32, "<i4"}};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        Shape s = {3, {2, 3, 4}};
        Array a;
        char err[256];
        assert_true(array_alloc(&a, kinds[k].dtype, &s, err, sizeof err));
        for (size_t i = 0; i < a.nbytes; i++)
            ((unsigned char *)a.data)[i] = (unsigned char)(i * 37 + 11);
        npy_round_trip(&a, kinds[k].descr, "(2, 3, 4)");
        array_free(&a);
    }
}

static void test_npy_round_trip_of_rank_0(void **state)
{
    (void)state;
    Shape s = {0, {0}};
    Array a;
    char err[256];
    assert_true(array_alloc(&a, ELEM_F32, &s, err, sizeof err));
    assert_int_equal(a.nbytes, 4);
    *(float *)a.data = -3.25f;
    npy_round_trip(&a, "<f4", "()");
    array_free(&a);
}

static void test_npy_round_trip_of_rank_1(void **state)
{
    (void)state;
    Shape s = {1, {5}};
    Array a;
    char err[256];
    assert_true(array_alloc(&a, ELEM_I32, &s, err, sizeof err));
    for (int i = 0; i < 5; i++)
        ((int32_t *)a.data)[i] = -1000000 * i;
    npy_round_trip(&a, "<i4", "(5,)");
    array_free(&a);
}

/* ---- IDX ---------------------------------------------------------------------- */

static void idx_header(Bytes *x, unsigned type, int rank, const uint32_t *dims)
{
    x->n = 0;
    put_u8(x, 0);
    put_u8(x, 0);
    put_u8(x, type);
    put_u8(x, (unsigned)rank);
    for (int i = 0; i < rank; i++)
        put_be32(x, dims[i]);
}

#define assert_idx_error(x, want) check_idx_error(__FILE__, __LINE__, (x), (want))
static void check_idx_error(const char *file, int line, const Bytes *x, const char *want)
{
    Array a;
    char err[512] = "";
    if (idx_parse(x->b, x->n, &a, err, sizeof err)) {
        array_free(&a);
        print_error("%s:%d: idx_parse accepted a bad file (wanted '%s')\n", file, line, want);
        _fail(file, line);
    }
    if (a.data)
        fail_msg("idx_parse failed but left data behind");
    assert_contains_impl(err, want, file, line);
}

static void test_idx_bad_magic(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 1, (const uint32_t[]){4});
    put_zeros(&x, 4);
    x.b[0] = 1;
    assert_idx_error(&x, "not an IDX file (bad magic)");
    Bytes tiny = {{0, 0}, 2};
    assert_idx_error(&tiny, "not an IDX file (bad magic)");
}

static void test_idx_unknown_type_byte(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x07, 1, (const uint32_t[]){4});
    put_zeros(&x, 4);
    assert_idx_error(&x, "unknown IDX data type 0x07");
}

static void test_idx_rank_0(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 0, NULL);
    put_zeros(&x, 1);
    assert_idx_error(&x, "IDX rank 0 is not in [1, 8]");
}

static void test_idx_rank_9(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 9, (const uint32_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
    put_zeros(&x, 1);
    assert_idx_error(&x, "IDX rank 9 is not in [1, 8]");
}

static void test_idx_truncated_header(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 3, (const uint32_t[]){2, 2, 2});
    x.n = 4 + 4 * 2 + 2; /* the third dimension is cut in half */
    assert_idx_error(&x, "truncated IDX header");
}

static void test_idx_dimensions_whose_product_overflows(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 3, (const uint32_t[]){0xffffffffu, 0xffffffffu, 0xffffffffu});
    put_zeros(&x, 16);
    assert_idx_error(&x, "the IDX dimensions give more than 2^48 elements");
}

static void test_idx_data_shorter_than_the_dimensions_need(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x0C, 2, (const uint32_t[]){2, 3});
    put_zeros(&x, 23);
    assert_idx_error(&x, "the IDX data is 23 bytes but its dimensions need 24");
}

static void test_idx_data_longer_than_the_dimensions_need(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 2, (const uint32_t[]){2, 3});
    put_zeros(&x, 7);
    assert_idx_error(&x, "the IDX data is 7 bytes but its dimensions need 6");
}

static void test_idx_big_endian_int32_is_decoded(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x0C, 1, (const uint32_t[]){4});
    put_be32(&x, 0x01020304u);
    put_be32(&x, 0xfffffffeu);
    put_be32(&x, 0x80000000u);
    put_be32(&x, 7);
    Array a;
    char err[512] = "";
    if (!idx_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_I32);
    assert_int_equal(a.shape.rank, 1);
    assert_int_equal(a.shape.d[0], 4);
    const int32_t *v = a.data;
    assert_int_equal(v[0], 16909060);
    assert_int_equal(v[1], -2);
    assert_int_equal(v[2], INT32_MIN);
    assert_int_equal(v[3], 7);
    array_free(&a);
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void test_idx_big_endian_float32_is_decoded(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x0D, 2, (const uint32_t[]){1, 3});
    put_be32(&x, 0x3fc00000u); /* 1.5 */
    put_be32(&x, 0xc0000000u); /* -2.0 */
    put_be32(&x, 0x7f7fffffu); /* FLT_MAX */
    Array a;
    char err[512] = "";
    if (!idx_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_F32);
    assert_int_equal(a.shape.rank, 2);
    assert_int_equal(a.shape.d[0], 1);
    assert_int_equal(a.shape.d[1], 3);
    const float *v = a.data;
    assert_int_equal(float_bits(v[0]), float_bits(1.5f));
    assert_int_equal(float_bits(v[1]), float_bits(-2.0f));
    assert_int_equal(float_bits(v[2]), 0x7f7fffffu);
    array_free(&a);
}

static void test_idx_int16_and_float64_are_widened(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x0B, 1, (const uint32_t[]){2});
    put_u8(&x, 0xff), put_u8(&x, 0xfe); /* -2 */
    put_u8(&x, 0x7f), put_u8(&x, 0xff); /* 32767 */
    Array a;
    char err[512] = "";
    if (!idx_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_I32);
    assert_int_equal(((int32_t *)a.data)[0], -2);
    assert_int_equal(((int32_t *)a.data)[1], 32767);
    array_free(&a);

    idx_header(&x, 0x0E, 1, (const uint32_t[]){1});
    double d = 0.1;
    uint64_t u;
    memcpy(&u, &d, 8);
    put_be32(&x, (uint32_t)(u >> 32));
    put_be32(&x, (uint32_t)u);
    if (!idx_parse(x.b, x.n, &a, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    assert_int_equal(a.dtype, ELEM_F32);
    assert_int_equal(float_bits(((float *)a.data)[0]), float_bits((float)0.1));
    array_free(&a);
}

/* Three 2x2 images of unsigned bytes. */
static void tiny_images(Bytes *x)
{
    idx_header(x, 0x08, 3, (const uint32_t[]){3, 2, 2});
    for (unsigned i = 0; i < 12; i++)
        put_u8(x, i * 20);
}

static void check_tiny_images(const Array *a)
{
    assert_int_equal(a->dtype, ELEM_U8);
    assert_int_equal(a->shape.rank, 3);
    assert_int_equal(a->shape.d[0], 3);
    assert_int_equal(a->shape.d[1], 2);
    assert_int_equal(a->shape.d[2], 2);
    for (int i = 0; i < 12; i++)
        assert_int_equal(((const uint8_t *)a->data)[i], i * 20);
}

static void test_idx_read_of_a_gzip_file(void **state)
{
    (void)state;
    Bytes x;
    tiny_images(&x);
    const char *path = path_in("images.idx.gz");
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, x.b, (unsigned)x.n), (int)x.n);
    assert_int_equal(gzclose(gz), Z_OK);

    /* Really compressed: the file starts with the gzip magic. */
    size_t len;
    char *raw = read_file_or_fail(path, &len);
    assert_true(len >= 2 && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b);
    free(raw);

    Array a;
    char err[1024] = "";
    if (!idx_read(path, &a, err, sizeof err))
        fail_msg("idx_read: %s", err);
    check_tiny_images(&a);
    array_free(&a);
    remove(path);
}

static void test_idx_read_of_a_plain_file(void **state)
{
    (void)state;
    Bytes x;
    tiny_images(&x);
    const char *path = path_in("images.idx");
    write_bytes(path, x.b, x.n);
    Array a;
    char err[1024] = "";
    if (!idx_read(path, &a, err, sizeof err))
        fail_msg("idx_read: %s", err);
    check_tiny_images(&a);
    array_free(&a);

    /* An error names the file. */
    x.b[2] = 0x07;
    write_bytes(path, x.b, x.n);
    char want[1200];
    snprintf(want, sizeof want, "%s: unknown IDX data type 0x07", path);
    assert_false(idx_read(path, &a, err, sizeof err));
    assert_contains(err, want);
    remove(path);
}

static void test_idx_images_to_input_scales_to_0_1(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x08, 3, (const uint32_t[]){2, 1, 3});
    const unsigned char px[6] = {0, 255, 51, 102, 1, 254};
    put(&x, px, 6);
    Array images, input;
    char err[512] = "";
    if (!idx_parse(x.b, x.n, &images, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    if (!idx_images_to_input(&images, &input, err, sizeof err))
        fail_msg("idx_images_to_input: %s", err);
    assert_int_equal(input.dtype, ELEM_F32);
    Shape want = {4, {2, 1, 1, 3}};
    assert_true(shape_equal(&input.shape, &want));
    const float *v = input.data;
    assert_true(v[0] == 0.0f);
    assert_true(v[1] == 1.0f);
    for (int i = 0; i < 6; i++)
        assert_true(fabsf(v[i] - (float)px[i] / 255.0f) == 0.0f);
    assert_true(v[2] == 0.2f && v[3] == 0.4f);
    array_free(&input);
    array_free(&images);
}

static void test_idx_images_to_input_rejects_other_arrays(void **state)
{
    (void)state;
    Bytes x;
    idx_header(&x, 0x0D, 3, (const uint32_t[]){1, 1, 1});
    put_be32(&x, 0);
    Array images, input;
    char err[512] = "";
    if (!idx_parse(x.b, x.n, &images, err, sizeof err))
        fail_msg("idx_parse: %s", err);
    assert_false(idx_images_to_input(&images, &input, err, sizeof err));
    assert_contains(err, "IDX images must be unsigned bytes of shape [N, H, W]");
    array_free(&images);
}

/* ---- conversions between dtypes ------------------------------------------------ */

/* A new array of dtype and shape holding the values at `data`. */
static Array array_of(ElemKind dtype, Shape shape, const void *data)
{
    Array a;
    char err[256];
    if (!array_alloc(&a, dtype, &shape, err, sizeof err))
        fail_msg("array_alloc: %s", err);
    memcpy(a.data, data, a.nbytes);
    return a;
}

static void test_array_get_reads_every_dtype_exactly(void **state)
{
    (void)state;
    Shape s = {1, {2}};
    Array f = array_of(ELEM_F32, s, (const float[]){0.1f, -3e38f});
    Array i32 = array_of(ELEM_I32, s, (const int32_t[]){INT32_MIN, INT32_MAX});
    Array i8 = array_of(ELEM_I8, s, (const int8_t[]){-128, 127});
    Array u8 = array_of(ELEM_U8, s, (const uint8_t[]){0, 255});
    assert_true(array_get(&f, 0) == (double)0.1f && array_get(&f, 1) == (double)-3e38f);
    assert_true(array_get(&i32, 0) == -2147483648.0 && array_get(&i32, 1) == 2147483647.0);
    assert_true(array_get(&i8, 0) == -128 && array_get(&i8, 1) == 127);
    assert_true(array_get(&u8, 0) == 0 && array_get(&u8, 1) == 255);
    array_free(&f), array_free(&i32), array_free(&i8), array_free(&u8);
}

/* Converts `in` to dtype and checks every element against `want` (as
 * doubles); frees `in`. */
static void check_converts(Array in, ElemKind dtype, const double *want)
{
    Array out;
    char err[512] = "";
    bool ok = array_convert_exact(&in, dtype, &out, err, sizeof err);
    int64_t n = array_count(&in);
    array_free(&in);
    if (!ok)
        fail_msg("array_convert_exact to %s: %s", elem_kind_name(dtype), err);
    assert_int_equal(out.dtype, dtype);
    for (int64_t i = 0; i < n; i++)
        if (array_get(&out, i) != want[i])
            fail_msg("to %s: element %lld is %.10g, expected %.10g", elem_kind_name(dtype),
                     (long long)i, array_get(&out, i), want[i]);
    array_free(&out);
}

static void test_array_convert_exact_keeps_values_that_fit(void **state)
{
    (void)state;
    Shape s = {1, {4}};
    const uint8_t bytes[4] = {0, 1, 127, 255};
    check_converts(array_of(ELEM_U8, s, bytes), ELEM_I32, (const double[]){0, 1, 127, 255});
    check_converts(array_of(ELEM_U8, s, bytes), ELEM_F32, (const double[]){0, 1, 127, 255});
    check_converts(array_of(ELEM_I8, s, (const int8_t[]){-128, -1, 0, 127}), ELEM_I32,
                   (const double[]){-128, -1, 0, 127});
    check_converts(array_of(ELEM_F32, s, (const float[]){-0.0f, 1, 254, 255}), ELEM_U8,
                   (const double[]){0, 1, 254, 255});
    check_converts(array_of(ELEM_F32, s, (const float[]){-2147483648.0f, -1, 0, 2147483520.0f}),
                   ELEM_I32, (const double[]){-2147483648.0, -1, 0, 2147483520.0});
    /* Integers up to 2^24 fit float32, and larger ones that are multiples of
     * a big enough power of two. */
    check_converts(array_of(ELEM_I32, s, (const int32_t[]){-16777216, 16777216, 1 << 30, INT32_MIN}),
                   ELEM_F32, (const double[]){-16777216, 16777216, 1 << 30, -2147483648.0});
}

/* Fails unless converting `in` to dtype fails with exactly `want`; frees
 * `in`. */
static void check_rejects(Array in, ElemKind dtype, const char *want)
{
    Array out = {0};
    char err[512] = "";
    bool ok = array_convert_exact(&in, dtype, &out, err, sizeof err);
    array_free(&in);
    array_free(&out);
    assert_false(ok);
    assert_string_equal(err, want);
}

static void test_array_convert_exact_names_the_first_value_that_does_not_fit(void **state)
{
    (void)state;
    Shape s = {1, {3}};
    check_rejects(array_of(ELEM_U8, s, (const uint8_t[]){127, 128, 255}), ELEM_I8,
                  "element [1] = 128 is not exactly representable in i8");
    check_rejects(array_of(ELEM_I8, s, (const int8_t[]){0, 5, -1}), ELEM_U8,
                  "element [2] = -1 is not exactly representable in u8");
    check_rejects(array_of(ELEM_I32, s, (const int32_t[]){16777216, 16777217, 0}), ELEM_F32,
                  "element [1] = 16777217 is not exactly representable in f32");
    check_rejects(array_of(ELEM_F32, s, (const float[]){1, 2.5f, 3}), ELEM_I32,
                  "element [1] = 2.5 is not exactly representable in i32");
    check_rejects(array_of(ELEM_F32, s, (const float[]){2147483648.0f, 0, 0}), ELEM_I32,
                  "element [0] = 2147483648 is not exactly representable in i32");
    check_rejects(array_of(ELEM_F32, s, (const float[]){0, NAN, 0}), ELEM_U8,
                  "element [1] = nan is not exactly representable in u8");
    check_rejects(array_of(ELEM_F32, s, (const float[]){0, 0, -INFINITY}), ELEM_I8,
                  "element [2] = -inf is not exactly representable in i8");
    /* The index is spelled like a shape. */
    check_rejects(array_of(ELEM_I32, (Shape){3, {2, 2, 2}}, (const int32_t[]){0, 0, 0, 0, 0, 300, 0, 0}),
                  ELEM_U8, "element [1, 0, 1] = 300 is not exactly representable in u8");
}

/* The same dtype is a copy, whatever the values: NaN stays NaN. */
static void test_array_convert_exact_copies_the_same_dtype(void **state)
{
    (void)state;
    Array in = array_of(ELEM_F32, (Shape){1, {2}}, (const float[]){NAN, -INFINITY}), out;
    char err[512] = "";
    if (!array_convert_exact(&in, ELEM_F32, &out, err, sizeof err))
        fail_msg("array_convert_exact: %s", err);
    bool same = out.nbytes == in.nbytes && memcmp(out.data, in.data, in.nbytes) == 0;
    array_free(&in);
    array_free(&out);
    assert_true(same);
}

/* ---- safetensors ------------------------------------------------------------- */

/* A safetensors image: the header length as given (little-endian u64), the
 * header text, then data_len bytes of data (0, 1, 2, ...). */
static void st_build_raw(Bytes *x, uint64_t header_len, const char *header, size_t data_len)
{
    x->n = 0;
    put_le(x, header_len, 8);
    put_str(x, header);
    for (size_t i = 0; i < data_len; i++)
        put_u8(x, (unsigned)i & 0xff);
}

static void st_build(Bytes *x, const char *header, size_t data_len)
{
    st_build_raw(x, strlen(header), header, data_len);
}

#define assert_st_error(x, want) check_st_error(__FILE__, __LINE__, (x), (want))
static void check_st_error(const char *file, int line, const Bytes *x, const char *want)
{
    SafeTensors st;
    char err[512] = "";
    if (safetensors_parse(x->b, x->n, &st, err, sizeof err)) {
        safetensors_free(&st);
        print_error("%s:%d: safetensors_parse accepted a bad file (wanted '%s')\n", file, line,
                    want);
        _fail(file, line);
    }
    if (st.items || st.count)
        fail_msg("safetensors_parse failed but left tensors behind");
    assert_contains_impl(err, want, file, line);
}

static SafeTensors st_parse_or_fail(const Bytes *x)
{
    SafeTensors st;
    char err[512] = "";
    if (!safetensors_parse(x->b, x->n, &st, err, sizeof err))
        fail_msg("safetensors_parse: %s", err);
    return st;
}

static void test_st_valid_file_is_read(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"__metadata__\": {\"format\": \"pt\"},"
             " \"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]},"
             " \"b\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [16, 19]}}",
             19);
    SafeTensors st = st_parse_or_fail(&x);
    assert_int_equal(st.count, 2);
    const NamedArray *a = safetensors_find(&st, "a"), *b = safetensors_find(&st, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(safetensors_find(&st, "__metadata__"));
    assert_int_equal(a->array.dtype, ELEM_F32);
    assert_int_equal(a->array.shape.rank, 2);
    assert_memory_equal(a->array.data, x.b + x.n - 19, 16);
    assert_int_equal(b->array.dtype, ELEM_U8);
    assert_memory_equal(b->array.data, x.b + x.n - 3, 3);
    safetensors_free(&st);
}

static void test_st_fewer_than_8_bytes(void **state)
{
    (void)state;
    Bytes x = {{2, 0, 0, 0, 0}, 5};
    assert_st_error(&x, "truncated: no 8-byte header length");
}

static void test_st_header_length_larger_than_the_file(void **state)
{
    (void)state;
    Bytes x;
    st_build_raw(&x, 100, "{}", 0);
    assert_st_error(&x, "the header length 100 exceeds the 2 bytes that follow it");
}

static void test_st_header_length_2_to_the_63(void **state)
{
    (void)state;
    Bytes x;
    st_build_raw(&x, (uint64_t)1 << 63, "{}", 0);
    assert_st_error(&x, "the header length 9223372036854775808 exceeds");
}

static void test_st_header_not_json(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\",", 0);
    assert_st_error(&x, "the header is not a JSON object");
}

static void test_st_header_json_not_an_object(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "[{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}]", 4);
    assert_st_error(&x, "the header is not a JSON object");
}

static void test_st_entry_missing_dtype(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
    assert_st_error(&x, "tensor 'a': the header entry needs dtype, shape and data_offsets");
}

static void test_st_entry_missing_shape(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4);
    assert_st_error(&x, "tensor 'a': the header entry needs dtype, shape and data_offsets");
}

static void test_st_entry_missing_data_offsets(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4);
    assert_st_error(&x, "tensor 'a': the header entry needs dtype, shape and data_offsets");
    /* an entry that is not an object at all */
    st_build(&x, "{\"a\": 42}", 4);
    assert_st_error(&x, "tensor 'a': the header entry needs dtype, shape and data_offsets");
}

static void test_st_unknown_dtype(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1);
    assert_st_error(&x, "tensor 'a': dtype F8_E4M3 is not supported");
}

static void test_st_negative_dimension(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4);
    assert_st_error(&x, "tensor 'a': a dimension is not a non-negative integer");
}

static void test_st_fractional_dimension(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4);
    assert_st_error(&x, "tensor 'a': a dimension is not a non-negative integer");
}

static void test_st_rank_above_8(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 1, 1, 1, 1, 1],"
             " \"data_offsets\": [0, 4]}}",
             4);
    assert_st_error(&x, "tensor 'a' has more than 8 dimensions");
}

static void test_st_offsets_out_of_range(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 8);
    assert_st_error(&x, "tensor 'a': data_offsets are not a range inside the 8 data bytes");
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 8);
    assert_st_error(&x, "tensor 'a': data_offsets are not a range inside the 8 data bytes");
}

static void test_st_begin_after_end(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 8);
    assert_st_error(&x, "tensor 'a': data_offsets are not a range inside the 8 data bytes");
}

static void test_st_byte_count_not_matching_the_shape(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 12);
    assert_st_error(&x, "tensor 'a': 8 data bytes, but shape and dtype F32 need 12");
}

static void test_st_overlapping_tensors(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
             " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
             12);
    assert_st_error(&x, "the data of tensors 'a' and 'b' overlap");
}

/* An empty tensor occupies no bytes, so it overlaps nothing, even where its
 * offsets equal the start of another tensor listed before it. */
static void test_st_empty_tensor_next_to_another_is_not_an_overlap(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
             " \"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]},"
             " \"b\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}}",
             8);
    SafeTensors st;
    char err[512] = "";
    bool ok = safetensors_parse(x.b, x.n, &st, err, sizeof err);
    if (!ok)
        print_error("safetensors_parse: %s\n", err);
    else
        safetensors_free(&st);
    assert_true(ok);
}

static void test_st_duplicate_names(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
             " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
             8);
    assert_st_error(&x, "tensor 'a' appears twice in the header");
}

static void test_st_shape_product_overflow(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x,
             "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296],"
             " \"data_offsets\": [0, 4]}}",
             4);
    assert_st_error(&x, "tensor 'a' has more than 2^48 elements");
}

static void check_f32_values(const SafeTensors *st, const char *name, const float *want, int n)
{
    const NamedArray *a = safetensors_find(st, name);
    if (!a)
        fail_msg("no tensor '%s'", name);
    assert_int_equal(a->array.dtype, ELEM_F32);
    assert_int_equal(array_count(&a->array), n);
    const float *v = a->array.data;
    for (int i = 0; i < n; i++)
        if (float_bits(v[i]) != float_bits(want[i]))
            fail_msg("%s[%d] = %.9g, expected %.9g", name, i, (double)v[i], (double)want[i]);
}

static void test_st_f16_bf16_f64_are_converted_to_f32(void **state)
{
    (void)state;
    Bytes x;
    x.n = 0;
    const char *header = "{\"h\": {\"dtype\": \"F16\", \"shape\": [7], \"data_offsets\": [0, 14]},"
                         " \"b\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [14, 20]},"
                         " \"d\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [20, 36]}}";
    put_le(&x, strlen(header), 8);
    put_str(&x, header);
    /* F16: 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), +inf, -0 */
    static const uint16_t h[7] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x8000};
    for (int i = 0; i < 7; i++)
        put_le(&x, h[i], 2);
    /* BF16: 1, -1.5, 3.140625 */
    static const uint16_t bf[3] = {0x3f80, 0xbfc0, 0x4049};
    for (int i = 0; i < 3; i++)
        put_le(&x, bf[i], 2);
    static const double dv[2] = {0.1, -1e10};
    for (int i = 0; i < 2; i++) {
        uint64_t u;
        memcpy(&u, &dv[i], 8);
        put_le(&x, u, 8);
    }
    SafeTensors st = st_parse_or_fail(&x);
    const float hf[7] = {1.0f, -2.0f, 0.5f, 65504.0f, 0x1p-24f, INFINITY, -0.0f};
    check_f32_values(&st, "h", hf, 7);
    const float bff[3] = {1.0f, -1.5f, 3.140625f};
    check_f32_values(&st, "b", bff, 3);
    const float df[2] = {(float)0.1, (float)-1e10};
    check_f32_values(&st, "d", df, 2);
    safetensors_free(&st);
}

static void test_st_f16_nan_stays_nan(void **state)
{
    (void)state;
    Bytes x;
    x.n = 0;
    const char *header = "{\"h\": {\"dtype\": \"F16\", \"shape\": [1], \"data_offsets\": [0, 2]}}";
    put_le(&x, strlen(header), 8);
    put_str(&x, header);
    put_le(&x, 0x7e00, 2);
    SafeTensors st = st_parse_or_fail(&x);
    assert_true(isnan(((const float *)st.items[0].array.data)[0]));
    safetensors_free(&st);
}

static void test_st_write_read_round_trip(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        ElemKind dtype;
        Shape shape;
    } specs[] = {
        {"layer2.weight", ELEM_F32, {2, {3, 5}}},
        {"b", ELEM_I32, {1, {3}}},
        {"a.scale", ELEM_F32, {0, {0}}},
        {"codes", ELEM_U8, {3, {1, 3, 3}}},
        {"q", ELEM_I8, {1, {7}}},
    };
    enum { N = sizeof specs / sizeof *specs };
    NamedArray items[N];
    char err[1024] = "";
    for (int i = 0; i < N; i++) {
        items[i].name = (char *)specs[i].name;
        assert_true(array_alloc(&items[i].array, specs[i].dtype, &specs[i].shape, err, sizeof err));
        for (size_t k = 0; k < items[i].array.nbytes; k++)
            ((unsigned char *)items[i].array.data)[k] = (unsigned char)(k * 13 + (size_t)i);
    }
    const char *path = path_in("round.safetensors");
    if (!safetensors_write(path, items, N, err, sizeof err))
        fail_msg("safetensors_write: %s", err);

    /* The header is padded so that the data starts on an 8-byte boundary. */
    size_t len;
    unsigned char *raw = (unsigned char *)read_file_or_fail(path, &len);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | raw[i];
    assert_int_equal(header_len % 8, 0);
    free(raw);

    SafeTensors st;
    if (!safetensors_read(path, &st, err, sizeof err))
        fail_msg("safetensors_read: %s", err);
    assert_int_equal(st.count, N);
    for (int i = 0; i < N; i++) {
        const NamedArray *a = safetensors_find(&st, specs[i].name);
        if (!a)
            fail_msg("'%s' was not read back", specs[i].name);
        assert_int_equal(a->array.dtype, specs[i].dtype);
        assert_true(shape_equal(&a->array.shape, &specs[i].shape));
        assert_int_equal(a->array.nbytes, items[i].array.nbytes);
        assert_memory_equal(a->array.data, items[i].array.data, items[i].array.nbytes);
    }
    safetensors_free(&st);
    for (int i = 0; i < N; i++)
        array_free(&items[i].array);
    remove(path);
}

static void test_st_read_names_the_file(void **state)
{
    (void)state;
    Bytes x;
    st_build(&x, "not json", 0);
    const char *path = path_in("bad.safetensors");
    write_bytes(path, x.b, x.n);
    SafeTensors st;
    char err[1024] = "", want[1200];
    assert_false(safetensors_read(path, &st, err, sizeof err));
    snprintf(want, sizeof want, "%s: the header is not a JSON object", path);
    assert_contains(err, want);
    remove(path);
}

/* ---- weights ------------------------------------------------------------------ */

#define NET "net.dnn"

/* conv1.weight [4, 3, 3, 3], conv1.bias [4], bn1.{weight, bias, running_mean,
 * running_var} [4], fc1.weight [5, 144], fc1.bias [5]. */
static const char weights_net[] = "input x: f32[1, 3, 8, 8];\n"
                                  "conv1 = conv(x, filters=4, kernel=3);\n"
                                  "bn1 = batchnorm(conv1);\n"
                                  "r = relu(bn1);\n"
                                  "fc1 = fc(r, units=5);\n"
                                  "output fc1;\n";

static void parse_or_fail(Parsed *p, const char *text)
{
    parse_text(p, NET, text);
    if (!p->graph)
        fail_msg("the test network does not parse:\n%s", p->messages);
}

static const Tensor *param(const Graph *g, const char *name)
{
    int t = graph_find_tensor(g, name);
    if (t < 0 || g->tensors[t].kind != TENSOR_PARAM)
        fail_msg("no parameter '%s'", name);
    return &g->tensors[t];
}

static const float *param_data(const Graph *g, const char *name)
{
    const Tensor *t = param(g, name);
    assert_non_null(t->data);
    return (const float *)t->data;
}

/* A SafeTensors holding a copy of every parameter of g (bound, f32). */
static void st_from_graph(const Graph *g, SafeTensors *st)
{
    memset(st, 0, sizeof *st);
    st->items = calloc((size_t)g->n_tensors + 4, sizeof *st->items);
    assert_non_null(st->items);
    char err[256];
    for (int t = 0; t < g->n_tensors; t++) {
        const Tensor *p = &g->tensors[t];
        if (p->kind != TENSOR_PARAM)
            continue;
        NamedArray *a = &st->items[st->count++];
        a->name = strdup(p->name);
        assert_true(array_alloc(&a->array, ELEM_F32, &p->shape, err, sizeof err));
        memcpy(a->array.data, p->data, a->array.nbytes);
    }
}

static NamedArray *st_item(SafeTensors *st, const char *name)
{
    NamedArray *a = (NamedArray *)safetensors_find(st, name);
    if (!a)
        fail_msg("no '%s' in the weights", name);
    return a;
}

static void st_remove(SafeTensors *st, const char *name)
{
    NamedArray *a = st_item(st, name);
    free(a->name);
    array_free(&a->array);
    *a = st->items[--st->count];
}

static void st_replace(SafeTensors *st, const char *name, ElemKind dtype, Shape shape)
{
    NamedArray *a = st_item(st, name);
    char err[256];
    array_free(&a->array);
    assert_true(array_alloc(&a->array, dtype, &shape, err, sizeof err));
}

static void st_add(SafeTensors *st, const char *name, Shape shape)
{
    NamedArray *a = &st->items[st->count++];
    char err[256];
    a->name = strdup(name);
    assert_true(array_alloc(&a->array, ELEM_F32, &shape, err, sizeof err));
}

/* Binds st to a fresh parse of weights_net; returns the messages (malloc'd)
 * and the result and error count. */
static char *bind_messages(const SafeTensors *st, bool *ok, int *errors)
{
    Parsed p;
    parse_or_fail(&p, weights_net);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    Diag d;
    diag_init(&d, out);
    diag_add_file(&d, NET, p.src.text, p.src.len);
    *ok = weights_bind(p.graph, st, "w.safetensors", &d);
    *errors = d.errors;
    fclose(out);
    parsed_free(&p);
    return text;
}

/* The weights of weights_net, randomised with seed 1. */
static void good_weights(SafeTensors *st)
{
    Parsed p;
    parse_or_fail(&p, weights_net);
    weights_randomize(p.graph, 1);
    st_from_graph(p.graph, st);
    parsed_free(&p);
}

static void test_weights_bind_accepts_matching_weights(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    assert_int_equal(st.count, 8);
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    if (!ok || errors)
        print_error("unexpected errors:\n%s", msg);
    free(msg);
    safetensors_free(&st);
    assert_true(ok);
    assert_int_equal(errors, 0);
}

static void test_weights_bind_missing_tensor(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    st_remove(&st, "conv1.weight");
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    safetensors_free(&st);
    assert_false(ok);
    assert_int_equal(errors, 1);
    assert_contains(msg, "layer 'conv1'");
    assert_contains(msg, "'conv1.weight'");
    assert_contains(msg, "[4, 3, 3, 3]");
    assert_contains(msg, "missing from w.safetensors");
    free(msg);
}

static void test_weights_bind_wrong_shape(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    st_replace(&st, "conv1.weight", ELEM_F32, (Shape){3, {4, 3, 9}});
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    safetensors_free(&st);
    assert_false(ok);
    assert_int_equal(errors, 1);
    assert_contains(msg, "layer 'conv1'");
    assert_contains(msg, "'conv1.weight'");
    assert_contains(msg, "[4, 3, 9]");
    assert_contains(msg, "[4, 3, 3, 3]");
    free(msg);
}

static void test_weights_bind_wrong_dtype(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    st_replace(&st, "conv1.bias", ELEM_I8, (Shape){1, {4}});
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    safetensors_free(&st);
    assert_false(ok);
    assert_int_equal(errors, 1);
    assert_contains(msg, "layer 'conv1'");
    assert_contains(msg, "'conv1.bias'");
    assert_contains(msg, "dtype i8");
    free(msg);
}

static void test_weights_bind_unexpected_tensor(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    st_add(&st, "conv2.weight", (Shape){1, {3}});
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    safetensors_free(&st);
    assert_false(ok);
    assert_int_equal(errors, 1);
    assert_contains(msg, "'conv2.weight' is not a weight of this network");
    free(msg);
}

static void test_weights_bind_reports_every_error_in_one_run(void **state)
{
    (void)state;
    SafeTensors st;
    good_weights(&st);
    st_remove(&st, "bn1.running_var");
    st_replace(&st, "fc1.weight", ELEM_F32, (Shape){2, {5, 100}});
    st_replace(&st, "fc1.bias", ELEM_U8, (Shape){1, {5}});
    st_add(&st, "extra", (Shape){1, {1}});
    bool ok;
    int errors;
    char *msg = bind_messages(&st, &ok, &errors);
    safetensors_free(&st);
    assert_false(ok);
    assert_int_equal(errors, 4);
    assert_contains(msg, "layer 'bn1': weight 'bn1.running_var' (f32[4]) is missing");
    assert_contains(msg, "layer 'fc1': 'fc1.weight' in w.safetensors has shape [5, 100], "
                         "expected [5, 144]");
    assert_contains(msg, "'fc1.bias'");
    assert_contains(msg, "dtype u8");
    assert_contains(msg, "'extra' is not a weight of this network");
    free(msg);
}

static void test_weights_load_of_a_bad_file_names_it(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, weights_net);
    const char *path = path_in("missing.safetensors");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    Diag d;
    diag_init(&d, out);
    bool ok = weights_load(p.graph, path, &d);
    fclose(out);
    parsed_free(&p);
    assert_false(ok);
    assert_contains(text, path);
    free(text);
}

/* Every parameter of g as bytes, in tensor order, for comparisons. */
static void assert_same_params(const Graph *a, const Graph *b, bool want_equal)
{
    assert_int_equal(a->n_tensors, b->n_tensors);
    bool all_equal = true;
    for (int t = 0; t < a->n_tensors; t++) {
        const Tensor *x = &a->tensors[t], *y = &b->tensors[t];
        if (x->kind != TENSOR_PARAM)
            continue;
        assert_string_equal(x->name, y->name);
        assert_non_null(x->data);
        assert_non_null(y->data);
        size_t n = (size_t)shape_elems(&x->shape) * sizeof(float);
        bool equal = memcmp(x->data, y->data, n) == 0;
        if (want_equal && !equal)
            fail_msg("'%s' differs", x->name);
        all_equal &= equal;
    }
    if (!want_equal && all_equal)
        fail_msg("the parameters are identical");
}

static void test_weights_randomize_is_deterministic(void **state)
{
    (void)state;
    Parsed a, b;
    parse_or_fail(&a, weights_net);
    parse_or_fail(&b, weights_net);
    weights_randomize(a.graph, 7);
    weights_randomize(b.graph, 7);
    assert_same_params(a.graph, b.graph, true);

    weights_randomize(b.graph, 8);
    assert_same_params(a.graph, b.graph, false);
    size_t n = 4 * 3 * 3 * 3 * sizeof(float);
    assert_true(memcmp(param_data(a.graph, "conv1.weight"), param_data(b.graph, "conv1.weight"),
                       n) != 0);
    assert_true(memcmp(param_data(a.graph, "fc1.weight"), param_data(b.graph, "fc1.weight"),
                       5 * 144 * sizeof(float)) != 0);
    parsed_free(&a);
    parsed_free(&b);
}

static void test_weights_randomize_does_not_depend_on_other_layers(void **state)
{
    (void)state;
    Parsed a, b;
    parse_or_fail(&a, weights_net);
    parse_or_fail(&b, "input x: f32[1, 3, 8, 8];\n"
                      "pre = conv(x, filters=3, kernel=1);\n"
                      "conv1 = conv(pre, filters=4, kernel=3);\n"
                      "output conv1;\n");
    weights_randomize(a.graph, 7);
    weights_randomize(b.graph, 7);
    assert_memory_equal(param_data(a.graph, "conv1.weight"), param_data(b.graph, "conv1.weight"),
                        4 * 3 * 3 * 3 * sizeof(float));
    parsed_free(&a);
    parsed_free(&b);
}

static void assert_all(const float *v, int n, float want, const char *name)
{
    for (int i = 0; i < n; i++)
        if (float_bits(v[i]) != float_bits(want))
            fail_msg("%s[%d] = %g, expected %g", name, i, (double)v[i], (double)want);
}

static void test_weights_randomize_values(void **state)
{
    (void)state;
    Parsed p;
    parse_or_fail(&p, weights_net);
    weights_randomize(p.graph, 123);
    const Graph *g = p.graph;
    /* Batch norm starts as the identity, biases at zero. */
    assert_all(param_data(g, "bn1.weight"), 4, 1.0f, "bn1.weight");
    assert_all(param_data(g, "bn1.bias"), 4, 0.0f, "bn1.bias");
    assert_all(param_data(g, "bn1.running_mean"), 4, 0.0f, "bn1.running_mean");
    assert_all(param_data(g, "bn1.running_var"), 4, 1.0f, "bn1.running_var");
    assert_all(param_data(g, "conv1.bias"), 4, 0.0f, "conv1.bias");
    assert_all(param_data(g, "fc1.bias"), 5, 0.0f, "fc1.bias");
    /* He: N(0, 2 / fan_in), fan_in = 144 for fc1: sd 0.118. */
    const float *w = param_data(g, "fc1.weight");
    double sum = 0, sq = 0;
    int n = 5 * 144;
    for (int i = 0; i < n; i++) {
        assert_true(isfinite(w[i]));
        sum += w[i];
        sq += (double)w[i] * w[i];
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean), want = sqrt(2.0 / 144);
    if (fabs(mean) > 0.02 || fabs(sd - want) > 0.15 * want)
        fail_msg("fc1.weight: mean %g, sd %g; expected about 0 and %g", mean, sd, want);
    parsed_free(&p);
}

static void test_weights_save_load_round_trip(void **state)
{
    (void)state;
    Parsed a, b;
    parse_or_fail(&a, weights_net);
    parse_or_fail(&b, weights_net);
    weights_randomize(a.graph, 99);
    const char *path = path_in("w.safetensors");
    char err[1024] = "";
    if (!weights_save(a.graph, path, err, sizeof err))
        fail_msg("weights_save: %s", err);

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    Diag d;
    diag_init(&d, out);
    bool ok = weights_load(b.graph, path, &d);
    fclose(out);
    if (!ok)
        print_error("weights_load:\n%s", text);
    free(text);
    assert_true(ok);
    assert_same_params(a.graph, b.graph, true);
    parsed_free(&a);
    parsed_free(&b);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* npy */
        cmocka_unit_test(test_npy_valid_file_is_read),
        cmocka_unit_test(test_npy_version_2_header_is_read),
        cmocka_unit_test(test_npy_bad_magic),
        cmocka_unit_test(test_npy_unsupported_version),
        cmocka_unit_test(test_npy_header_length_beyond_the_file),
        cmocka_unit_test(test_npy_truncated_data),
        cmocka_unit_test(test_npy_trailing_data),
        cmocka_unit_test(test_npy_float64_is_not_supported),
        cmocka_unit_test(test_npy_big_endian_float32_is_not_supported),
        cmocka_unit_test(test_npy_fortran_order_is_not_supported),
        cmocka_unit_test(test_npy_malformed_dictionary),
        cmocka_unit_test(test_npy_shape_whose_product_overflows),
        cmocka_unit_test(test_npy_rank_above_8),
        cmocka_unit_test(test_npy_read_names_the_file),
        cmocka_unit_test(test_npy_round_trip_of_every_dtype),
        cmocka_unit_test(test_npy_round_trip_of_rank_0),
        cmocka_unit_test(test_npy_round_trip_of_rank_1),
        /* IDX */
        cmocka_unit_test(test_idx_bad_magic),
        cmocka_unit_test(test_idx_unknown_type_byte),
        cmocka_unit_test(test_idx_rank_0),
        cmocka_unit_test(test_idx_rank_9),
        cmocka_unit_test(test_idx_truncated_header),
        cmocka_unit_test(test_idx_dimensions_whose_product_overflows),
        cmocka_unit_test(test_idx_data_shorter_than_the_dimensions_need),
        cmocka_unit_test(test_idx_data_longer_than_the_dimensions_need),
        cmocka_unit_test(test_idx_big_endian_int32_is_decoded),
        cmocka_unit_test(test_idx_big_endian_float32_is_decoded),
        cmocka_unit_test(test_idx_int16_and_float64_are_widened),
        cmocka_unit_test(test_idx_read_of_a_gzip_file),
        cmocka_unit_test(test_idx_read_of_a_plain_file),
        cmocka_unit_test(test_idx_images_to_input_scales_to_0_1),
        cmocka_unit_test(test_idx_images_to_input_rejects_other_arrays),
        /* conversions */
        cmocka_unit_test(test_array_get_reads_every_dtype_exactly),
        cmocka_unit_test(test_array_convert_exact_keeps_values_that_fit),
        cmocka_unit_test(test_array_convert_exact_names_the_first_value_that_does_not_fit),
        cmocka_unit_test(test_array_convert_exact_copies_the_same_dtype),
        /* safetensors */
        cmocka_unit_test(test_st_valid_file_is_read),
        cmocka_unit_test(test_st_fewer_than_8_bytes),
        cmocka_unit_test(test_st_header_length_larger_than_the_file),
        cmocka_unit_test(test_st_header_length_2_to_the_63),
        cmocka_unit_test(test_st_header_not_json),
        cmocka_unit_test(test_st_header_json_not_an_object),
        cmocka_unit_test(test_st_entry_missing_dtype),
        cmocka_unit_test(test_st_entry_missing_shape),
        cmocka_unit_test(test_st_entry_missing_data_offsets),
        cmocka_unit_test(test_st_unknown_dtype),
        cmocka_unit_test(test_st_negative_dimension),
        cmocka_unit_test(test_st_fractional_dimension),
        cmocka_unit_test(test_st_rank_above_8),
        cmocka_unit_test(test_st_offsets_out_of_range),
        cmocka_unit_test(test_st_begin_after_end),
        cmocka_unit_test(test_st_byte_count_not_matching_the_shape),
        cmocka_unit_test(test_st_overlapping_tensors),
        cmocka_unit_test(test_st_empty_tensor_next_to_another_is_not_an_overlap),
        cmocka_unit_test(test_st_duplicate_names),
        cmocka_unit_test(test_st_shape_product_overflow),
        cmocka_unit_test(test_st_f16_bf16_f64_are_converted_to_f32),
        cmocka_unit_test(test_st_f16_nan_stays_nan),
        cmocka_unit_test(test_st_write_read_round_trip),
        cmocka_unit_test(test_st_read_names_the_file),
        /* weights */
        cmocka_unit_test(test_weights_bind_accepts_matching_weights),
        cmocka_unit_test(test_weights_bind_missing_tensor),
        cmocka_unit_test(test_weights_bind_wrong_shape),
        cmocka_unit_test(test_weights_bind_wrong_dtype),
        cmocka_unit_test(test_weights_bind_unexpected_tensor),
        cmocka_unit_test(test_weights_bind_reports_every_error_in_one_run),
        cmocka_unit_test(test_weights_load_of_a_bad_file_names_it),
        cmocka_unit_test(test_weights_randomize_is_deterministic),
        cmocka_unit_test(test_weights_randomize_does_not_depend_on_other_layers),
        cmocka_unit_test(test_weights_randomize_values),
        cmocka_unit_test(test_weights_save_load_round_trip),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
