/* Check tests for Jupyter wire messages: header fields, compact UTF-8
 * parts, the signature, the frame layout of ipykernel's IOPub pipe, and
 * malformed parent headers. */
#include "check_util.h"
#include "pm_protocol.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char KEY[] = "3c6b0e1d-9f0a-4f6e-8a2b-7d5c4e3f2a1b";

static pm_session_t session(void)
{
    pm_session_t s = {KEY, strlen(KEY), "5f0e7c2e-session", "alice"};
    return s;
}

static json_t *content(void)
{
    return json_pack("{s:{s:s},s:{},s:{}}", "data", "text/plain",
                     "peak memory: 1.00 MiB, increment: 0.00 MiB é",
                     "metadata", "transient");
}

static int is_uuid4(const char *s)
{
    if (strlen(s) != 36) {
        return 0;
    }
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!isxdigit((unsigned char)s[i]) ||
                   isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static int is_iso_date(const char *s)
{
    /* 2024-05-01T12:34:56.789012Z */
    const char *shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (strlen(s) != strlen(shape)) {
        return 0;
    }
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i])
                            : s[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

START_TEST(test_uuid4_is_random_version_4)
{
    char a[37], b[37];
    pm_uuid4(a);
    pm_uuid4(b);
    ck_assert_msg(is_uuid4(a), "not a uuid4: %s", a);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_iso_now_is_utc_with_microseconds)
{
    char date[32];
    pm_iso_now(date);
    ck_assert_msg(is_iso_date(date), "bad date: %s", date);
}
END_TEST

START_TEST(test_header_has_jupyter_fields_in_order)
{
    static const char *keys[] = {"msg_id",  "msg_type", "username",
                                 "session", "date",     "version"};
    pm_session_t s = session();
    json_t *c = content();
    pm_wire_msg_t msg;
    const char *key;
    json_t *value, *header;
    size_t i = 0;

    ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "display_data", NULL, c), 0);
    header = json_loads(msg.header, 0, NULL);
    ck_assert_ptr_nonnull(header);
    ck_assert_uint_eq(json_object_size(header), 6);
    json_object_foreach(header, key, value)
    {
        ck_assert_str_eq(key, keys[i++]);
        ck_assert(json_is_string(value));
    }
    ck_assert_str_eq(json_string_value(json_object_get(header, "msg_id")),
                     msg.msg_id);
    ck_assert(is_uuid4(msg.msg_id));
    ck_assert_str_eq(json_string_value(json_object_get(header, "msg_type")),
                     "display_data");
    ck_assert_str_eq(json_string_value(json_object_get(header, "username")),
                     "alice");
    ck_assert_str_eq(json_string_value(json_object_get(header, "session")),
                     "5f0e7c2e-session");
    ck_assert(is_iso_date(json_string_value(json_object_get(header, "date"))));
    ck_assert_str_eq(json_string_value(json_object_get(header, "version")),
                     "5.3");
    ck_assert_str_eq(msg.parent, "{}");
    ck_assert_str_eq(msg.metadata, "{}");
    json_decref(header);
    json_decref(c);
    pm_wire_msg_close(&msg);
}
END_TEST

START_TEST(test_parts_are_compact_utf8_in_key_order)
{
    pm_session_t s = session();
    json_t *c = content();
    pm_wire_msg_t msg;

    ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "display_data",
                                      "{ \"msg_id\" : \"p1\",\n"
                                      "  \"msg_type\": \"execute_request\" }",
                                      c),
                     0);
    ck_assert_str_eq(msg.parent,
                     "{\"msg_id\":\"p1\",\"msg_type\":\"execute_request\"}");
    ck_assert_str_eq(msg.content,
                     "{\"data\":{\"text/plain\":\"peak memory: 1.00 MiB, "
                     "increment: 0.00 MiB é\"},\"metadata\":{},"
                     "\"transient\":{}}");
    ck_assert_ptr_null(strstr(msg.header, "\": "));
    ck_assert_ptr_null(strchr(msg.header, '\n'));
    json_decref(c);
    pm_wire_msg_close(&msg);
}
END_TEST

START_TEST(test_signature_verifies_over_four_parts)
{
    pm_session_t s = session();
    json_t *c = content();
    pm_wire_msg_t msg;
    char expected[65], joined_sig[65];

    ck_assert_int_eq(
        pm_wire_msg_init(&msg, &s, "display_data", "{\"msg_id\":\"p1\"}", c),
        0);
    pm_buf_t parts[4] = {{msg.header, strlen(msg.header)},
                         {msg.parent, strlen(msg.parent)},
                         {msg.metadata, strlen(msg.metadata)},
                         {msg.content, strlen(msg.content)}};
    ck_assert_int_eq(pm_msg_sign(KEY, strlen(KEY), parts, 4, expected), 0);
    ck_assert_str_eq(msg.signature, expected);
    ck_assert_uint_eq(strlen(msg.signature), 64);

    /* The same bytes in one piece: HMAC over the concatenation. */
    size_t len = parts[0].len + parts[1].len + parts[2].len + parts[3].len;
    char *joined = malloc(len + 1);
    snprintf(joined, len + 1, "%s%s%s%s", msg.header, msg.parent, msg.metadata,
             msg.content);
    pm_buf_t one = {joined, len};
    ck_assert_int_eq(pm_msg_sign(KEY, strlen(KEY), &one, 1, joined_sig), 0);
    ck_assert_str_eq(msg.signature, joined_sig);

    /* Changing any part breaks it. */
    parts[3].len--;
    ck_assert_int_eq(pm_msg_sign(KEY, strlen(KEY), parts, 4, expected), 0);
    ck_assert_str_ne(msg.signature, expected);
    free(joined);
    json_decref(c);
    pm_wire_msg_close(&msg);
}
END_TEST

START_TEST(test_unsigned_session_has_empty_signature)
{
    pm_session_t s = {NULL, 0, "sess", "bob"};
    pm_wire_msg_t msg;

    ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "stream", "", NULL), 0);
    ck_assert_str_eq(msg.signature, "");
    ck_assert_str_eq(msg.content, "{}");
    pm_wire_msg_close(&msg);
}
END_TEST

START_TEST(test_frames_follow_ipykernel_pipe_layout)
{
    static const unsigned char uuid[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                           9, 10, 11, 12, 13, 14, 15, 16};
    pm_session_t s = session();
    json_t *c = content();
    pm_wire_msg_t msg;
    pm_buf_t frames[8];

    ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "display_data", NULL, c), 0);
    ck_assert_int_eq(
        pm_wire_frames(&msg, uuid, 16, "peakmem.display", frames, 8), 8);
    ck_assert_ptr_eq(frames[0].data, uuid);
    ck_assert_uint_eq(frames[0].len, 16);
    ck_assert_uint_eq(frames[1].len, strlen("peakmem.display"));
    ck_assert_int_eq(memcmp(frames[1].data, "peakmem.display", 15), 0);
    ck_assert_uint_eq(frames[2].len, 9);
    ck_assert_int_eq(memcmp(frames[2].data, "<IDS|MSG>", 9), 0);
    ck_assert_ptr_eq(frames[3].data, msg.signature);
    ck_assert_uint_eq(frames[3].len, 64);
    ck_assert_ptr_eq(frames[4].data, msg.header);
    ck_assert_uint_eq(frames[4].len, strlen(msg.header));
    ck_assert_ptr_eq(frames[5].data, msg.parent);
    ck_assert_ptr_eq(frames[6].data, msg.metadata);
    ck_assert_ptr_eq(frames[7].data, msg.content);
    ck_assert_uint_eq(frames[7].len, strlen(msg.content));

    /* Without a pipe uuid: the seven IOPub frames; default topic. */
    ck_assert_int_eq(pm_wire_frames(&msg, NULL, 0, NULL, frames, 7), 7);
    ck_assert_int_eq(memcmp(frames[0].data, "peakmem.display", 15), 0);
    ck_assert_int_eq(memcmp(frames[1].data, "<IDS|MSG>", 9), 0);
    ck_assert_ptr_eq(frames[6].data, msg.content);

    ck_assert_int_eq(pm_wire_frames(&msg, uuid, 16, NULL, frames, 7),
                     PM_EBADMSG);
    json_decref(c);
    pm_wire_msg_close(&msg);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_msg_id_unique_across_1000_messages)
{
    enum { N = 1000 };
    pm_session_t s = session();
    json_t *c = json_object();
    char **ids = calloc(N, sizeof(*ids));

    for (int i = 0; i < N; i++) {
        pm_wire_msg_t msg;
        ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "stream", NULL, c), 0);
        ids[i] = strdup(msg.msg_id);
        pm_wire_msg_close(&msg);
    }
    qsort(ids, N, sizeof(*ids), cmp_str);
    for (int i = 1; i < N; i++) {
        ck_assert_str_ne(ids[i - 1], ids[i]);
    }
    for (int i = 0; i < N; i++) {
        free(ids[i]);
    }
    free(ids);
    json_decref(c);
}
END_TEST

START_TEST(test_bad_parent_json_is_ebadmsg)
{
    static const char *bad[] = {
        "{", "[1, 2]", "null", "\"text\"", "{\"a\": 1} trailing", "{'a': 1}"};
    pm_session_t s = session();
    json_t *c = content();

    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        pm_wire_msg_t msg;
        ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "display_data", bad[i], c),
                         PM_EBADMSG);
        ck_assert_ptr_null(msg.header);
        ck_assert_ptr_null(msg.parent);
        ck_assert_ptr_null(msg.content);
        pm_wire_msg_close(&msg); /* harmless after a failure */
    }
    json_decref(c);
}
END_TEST

START_TEST(test_non_object_content_is_ebadmsg)
{
    pm_session_t s = session();
    json_t *c = json_array();
    pm_wire_msg_t msg;

    ck_assert_int_eq(pm_wire_msg_init(&msg, &s, "display_data", NULL, c),
                     PM_EBADMSG);
    json_decref(c);
}
END_TEST

START_TEST(test_strerror_names_protocol_codes)
{
    ck_assert_ptr_nonnull(pm_protocol_strerror(PM_EBADMSG));
    ck_assert_ptr_nonnull(pm_protocol_strerror(PM_ETIMEDOUT_PUB));
    ck_assert_ptr_nonnull(pm_protocol_strerror(PM_EFORKED));
    ck_assert_ptr_null(pm_protocol_strerror(-22));
    ck_assert_ptr_null(pm_protocol_strerror(0));
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"ids", test_uuid4_is_random_version_4},
        {"ids", test_iso_now_is_utc_with_microseconds},
        {"ids", test_msg_id_unique_across_1000_messages},
        {"message", test_header_has_jupyter_fields_in_order},
        {"message", test_parts_are_compact_utf8_in_key_order},
        {"message", test_signature_verifies_over_four_parts},
        {"message", test_unsigned_session_has_empty_signature},
        {"message", test_frames_follow_ipykernel_pipe_layout},
        {"message", test_bad_parent_json_is_ebadmsg},
        {"message", test_non_object_content_is_ebadmsg},
        {"message", test_strerror_names_protocol_codes},
    };

    return pm_check_main("wire", tests, PM_CHECK_COUNT(tests));
}
