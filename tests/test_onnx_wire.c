/* The ONNX importer's wire-level split (frontend/onnx/onnx_wire.c): a model
 * without its initializers, where each initializer lies, and in each tensor
 * where its raw bytes lie. Messages are written here byte by byte (key =
 * field << 3 | wire type), so that every case is exactly the one named;
 * what the importer then makes of real models is in test_onnx_import and
 * test_onnx_models. */
#include <stdlib.h>
#include <string.h>

#include "onnx_wire.h"
#include "test_util.h"

/* A GraphProto: node (1) "n", initializer (5) "AB", name (2) "g",
 * initializer (5) "CDE". */
static const unsigned char graph[] = {0x0a, 1, 'n', 0x2a, 2, 'A', 'B', 0x12, 1, 'g', 0x2a, 3, 'C', 'D', 'E'};

/* ModelProto: ir_version (1) = 8, graph (7), producer (2) "p", a fixed64
 * (field 20) and a fixed32 (field 21) it does not know. */
static size_t model_with(const unsigned char *g, size_t glen, unsigned char *out)
{
    size_t n = 0;
    const unsigned char head[] = {0x08, 8, 0x3a, (unsigned char)glen};
    memcpy(out + n, head, sizeof head), n += sizeof head;
    memcpy(out + n, g, glen), n += glen;
    const unsigned char tail[] = {0x12, 1, 'p', 0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x01, 1, 2, 3, 4};
    memcpy(out + n, tail, sizeof tail), n += sizeof tail;
    return n;
}

static void test_a_model_loses_its_initializers_and_says_where_they_lay(void **state)
{
    (void)state;
    unsigned char model[64];
    size_t len = model_with(graph, sizeof graph, model);
    WireModel w;
    assert_true(wire_split_model(model, len, &w));
    assert_int_equal(w.n_initializers, 2);
    assert_memory_equal(model + w.initializers[0].offset, "AB", 2);
    assert_int_equal(w.initializers[0].len, 2);
    assert_memory_equal(model + w.initializers[1].offset, "CDE", 3);
    assert_int_equal(w.initializers[1].len, 3);
    /* The graph field's length is written again for what is left of it. */
    const unsigned char left[] = {0x0a, 1, 'n', 0x12, 1, 'g'};
    unsigned char want[64];
    size_t want_len = model_with(left, sizeof left, want);
    assert_int_equal(w.rest.len, want_len);
    assert_memory_equal(w.rest.data, want, want_len);
    wire_model_free(&w);
}

/* A graph longer than 127 bytes: its length takes two bytes, and fewer once
 * the initializers are gone. */
static void test_a_long_graph_gets_a_shorter_length(void **state)
{
    (void)state;
    unsigned char model[256] = {0x3a, 0x8d, 0x01, 0x2a, 0x80, 0x01}; /* graph of 141 bytes, init of 128 */
    memset(model + 6, 'w', 128);
    const unsigned char name[] = {0x12, 8, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    memcpy(model + 134, name, sizeof name);
    size_t len = 3 + 141;
    WireModel w;
    assert_true(wire_split_model(model, len, &w));
    assert_int_equal(w.n_initializers, 1);
    assert_int_equal(w.initializers[0].offset, 6);
    assert_int_equal(w.initializers[0].len, 128);
    const unsigned char want[] = {0x3a, 10, 0x12, 8, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    assert_int_equal(w.rest.len, sizeof want);
    assert_memory_equal(w.rest.data, want, sizeof want);
    wire_model_free(&w);
}

/* Models the importer must unpack whole instead: protobuf-c then says what
 * is wrong with them, or merges what the format says to merge. */
static void test_models_that_are_not_split(void **state)
{
    (void)state;
    WireModel w;
    const unsigned char no_graph[] = {0x08, 8};
    assert_false(wire_split_model(no_graph, sizeof no_graph, &w));
    const unsigned char two_graphs[] = {0x3a, 0, 0x3a, 0};
    assert_false(wire_split_model(two_graphs, sizeof two_graphs, &w));
    const unsigned char truncated_length[] = {0x3a, 5, 0x0a};
    assert_false(wire_split_model(truncated_length, sizeof truncated_length, &w));
    const unsigned char truncated_varint[] = {0x3a, 0, 0x08, 0x80};
    assert_false(wire_split_model(truncated_varint, sizeof truncated_varint, &w));
    const unsigned char eleven_byte_varint[] = {0x3a, 0, 0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
                                                0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_false(wire_split_model(eleven_byte_varint, sizeof eleven_byte_varint, &w));
    const unsigned char group[] = {0x3a, 0, 0x0b, 0x0c};
    assert_false(wire_split_model(group, sizeof group, &w));
    const unsigned char field_zero[] = {0x3a, 0, 0x00, 1};
    assert_false(wire_split_model(field_zero, sizeof field_zero, &w));
    const unsigned char short_fixed64[] = {0x3a, 0, 0x09, 1, 2, 3};
    assert_false(wire_split_model(short_fixed64, sizeof short_fixed64, &w));
    /* An initializer that overruns its graph. */
    const unsigned char init_overruns[] = {0x3a, 2, 0x2a, 3, 'A', 'B', 'C'};
    assert_false(wire_split_model(init_overruns, sizeof init_overruns, &w));
}

static void test_a_tensor_loses_its_raw_data(void **state)
{
    (void)state;
    /* dims (1) = 2, data_type (2) = 1, name (8) "w", raw_data (9) 8 bytes. */
    const unsigned char t[] = {0x08, 2, 0x10, 1, 0x42, 1, 'w', 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    WireBytes rest;
    WireSlice raw;
    assert_true(wire_split_tensor(t, sizeof t, &rest, &raw));
    assert_int_equal(raw.offset, 9);
    assert_int_equal(raw.len, 8);
    const unsigned char want[] = {0x08, 2, 0x10, 1, 0x42, 1, 'w'};
    assert_int_equal(rest.len, sizeof want);
    assert_memory_equal(rest.data, want, sizeof want);
    free(rest.data);
}

static void test_tensors_that_are_not_split(void **state)
{
    (void)state;
    WireBytes rest;
    WireSlice raw;
    const unsigned char no_raw[] = {0x08, 2, 0x10, 1};
    assert_false(wire_split_tensor(no_raw, sizeof no_raw, &rest, &raw));
    assert_null(rest.data);
    /* Twice: protobuf keeps the last; unpacked whole, the same happens. */
    const unsigned char twice[] = {0x4a, 1, 'a', 0x4a, 1, 'b'};
    assert_false(wire_split_tensor(twice, sizeof twice, &rest, &raw));
    assert_null(rest.data);
    const unsigned char truncated[] = {0x4a, 9, 'a'};
    assert_false(wire_split_tensor(truncated, sizeof truncated, &rest, &raw));
    assert_null(rest.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_model_loses_its_initializers_and_says_where_they_lay),
        cmocka_unit_test(test_a_long_graph_gets_a_shorter_length),
        cmocka_unit_test(test_models_that_are_not_split),
        cmocka_unit_test(test_a_tensor_loses_its_raw_data),
        cmocka_unit_test(test_tensors_that_are_not_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
