/* Check tests for pm_msg_sign: the RFC 4231 HMAC-SHA256 vectors (with the
 * data split into parts, as a message's four JSON parts are) and vectors
 * computed by jupyter_client's Session.sign (tests/gen_sign_vectors.py). */
#include "check_util.h"
#include "pm_protocol.h"

#include <string.h>

#define VECTORS "tests/data/protocol/session_sign.json"

/* Signs data whole, and cut into 2, 3 and 4 parts (one of them empty),
 * and checks every result against expected. */
static void assert_sign_split(const void *key, size_t keylen, const void *data,
                              size_t len, const char *expected)
{
    const char *d = data;
    char out[65];

    pm_buf_t whole[1] = {{d, len}};
    ck_assert_int_eq(pm_msg_sign(key, keylen, whole, 1, out), 0);
    ck_assert_str_eq(out, expected);

    pm_buf_t two[2] = {{d, len / 2}, {d + len / 2, len - len / 2}};
    ck_assert_int_eq(pm_msg_sign(key, keylen, two, 2, out), 0);
    ck_assert_str_eq(out, expected);

    pm_buf_t three[3] = {{d, 1}, {d + 1, len - 2}, {d + len - 1, 1}};
    ck_assert_int_eq(pm_msg_sign(key, keylen, three, 3, out), 0);
    ck_assert_str_eq(out, expected);

    pm_buf_t four[4] = {
        {d, len / 3}, {"", 0}, {d + len / 3, len - len / 3}, {NULL, 0}};
    ck_assert_int_eq(pm_msg_sign(key, keylen, four, 4, out), 0);
    ck_assert_str_eq(out, expected);
}

START_TEST(test_sign_matches_rfc4231_case_1)
{
    unsigned char key[20];
    memset(key, 0x0b, sizeof(key));
    assert_sign_split(key, sizeof(key), "Hi There", 8,
                      "b0344c61d8db38535ca8afceaf0bf12b"
                      "881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(test_sign_matches_rfc4231_case_2)
{
    const char *data = "what do ya want for nothing?";
    assert_sign_split("Jefe", 4, data, strlen(data),
                      "5bdcc146bf60754e6a042426089575c7"
                      "5a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_sign_matches_rfc4231_case_3)
{
    unsigned char key[20], data[50];
    memset(key, 0xaa, sizeof(key));
    memset(data, 0xdd, sizeof(data));
    assert_sign_split(key, sizeof(key), data, sizeof(data),
                      "773ea91e36800e46854db8ebd09181a7"
                      "2959098b3ef8c122d9635514ced565fe");
}
END_TEST

START_TEST(test_sign_matches_rfc4231_case_4)
{
    unsigned char key[25], data[50];
    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char)(i + 1);
    }
    memset(data, 0xcd, sizeof(data));
    assert_sign_split(key, sizeof(key), data, sizeof(data),
                      "82558a389a443c0ea4cc819899f2083a"
                      "85f0faa3e578f8077a2e3ff46729665b");
}
END_TEST

START_TEST(test_sign_matches_rfc4231_case_6)
{
    unsigned char key[131];
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key "
                       "First";
    memset(key, 0xaa, sizeof(key));
    assert_sign_split(key, sizeof(key), data, strlen(data),
                      "60e431591ee0b67f0d8a26aacbf5b77f"
                      "8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(test_sign_matches_rfc4231_case_7)
{
    unsigned char key[131];
    const char *data =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";
    memset(key, 0xaa, sizeof(key));
    assert_sign_split(key, sizeof(key), data, strlen(data),
                      "9b09ffa71b942fcb27635fbcd5b0e944"
                      "bfdc63644f0713938a7f51535c3a35e2");
}
END_TEST

START_TEST(test_sign_empty_key_gives_empty_signature)
{
    pm_buf_t part = {"{}", 2};
    char out[65];

    memset(out, 'x', sizeof(out));
    ck_assert_int_eq(pm_msg_sign(NULL, 0, &part, 1, out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(pm_msg_sign("", 0, &part, 1, out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_sign_rejects_missing_key_bytes)
{
    pm_buf_t part = {"{}", 2};
    char out[65];
    ck_assert_int_eq(pm_msg_sign(NULL, 4, &part, 1, out), PM_ESIGN);
}
END_TEST

START_TEST(test_sign_matches_jupyter_client_session)
{
    json_error_t err;
    json_t *doc = json_load_file(VECTORS, 0, &err);
    json_t *vectors, *v;
    size_t i;

    ck_assert_msg(doc != NULL, "%s: %s (run from the source root)", VECTORS,
                  err.text);
    vectors = json_object_get(doc, "vectors");
    ck_assert(json_array_size(vectors) >= 3);
    json_array_foreach(vectors, i, v)
    {
        static const char *names[] = {"header", "parent", "metadata",
                                      "content"};
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *sig = json_string_value(json_object_get(v, "signature"));
        pm_buf_t parts[4];
        char out[65];

        ck_assert_ptr_nonnull(key);
        ck_assert_ptr_nonnull(sig);
        for (int p = 0; p < 4; p++) {
            json_t *text = json_object_get(v, names[p]);
            ck_assert(json_is_string(text));
            parts[p].data = json_string_value(text);
            parts[p].len = json_string_length(text);
        }
        ck_assert_int_eq(pm_msg_sign(key, strlen(key), parts, 4, out), 0);
        ck_assert_msg(strcmp(out, sig) == 0, "vector %zu: %s != %s", i, out,
                      sig);
    }
    json_decref(doc);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"rfc4231", test_sign_matches_rfc4231_case_1},
        {"rfc4231", test_sign_matches_rfc4231_case_2},
        {"rfc4231", test_sign_matches_rfc4231_case_3},
        {"rfc4231", test_sign_matches_rfc4231_case_4},
        {"rfc4231", test_sign_matches_rfc4231_case_6},
        {"rfc4231", test_sign_matches_rfc4231_case_7},
        {"jupyter_client", test_sign_empty_key_gives_empty_signature},
        {"jupyter_client", test_sign_rejects_missing_key_bytes},
        {"jupyter_client", test_sign_matches_jupyter_client_session},
    };

    return pm_check_main("sign", tests, PM_CHECK_COUNT(tests));
}
