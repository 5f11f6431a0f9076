/* Text from files and users made safe to show: no byte of a crafted .dat
 * or option reaches a terminal as a control sequence, and no message is
 * cut in the middle of a UTF-8 character (Python refuses such a string
 * whole, and the user then sees an empty message). */
#include "pm_protocol.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 character at s (avail bytes there), 0 when
 * the bytes are not one (bad lead, cut short, overlong, surrogate, beyond
 * U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t avail)
{
    unsigned long cp;
    size_t n;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, cp = s[0] & 0x1fUL;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, cp = s[0] & 0x0fUL;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, cp = s[0] & 0x07UL;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[k] & 0x3fUL);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

size_t pm_text_escape(char *out, size_t outlen, const char *text, size_t len,
                      size_t max_in)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, o = 0;

    if (out == NULL || outlen == 0) {
        return 0;
    }
    if (s == NULL) {
        len = 0;
    }
    if (len > max_in) {
        len = pm_utf8_boundary(text, max_in);
    }
    while (i < len) {
        size_t n = utf8_char(s + i, len - i);
        /* C0 controls, DEL and C1 controls (U+0080..U+009F) are \xNN */
        int escape = n == 0 || s[i] < 0x20 || s[i] == 0x7f ||
                     (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0);
        size_t need = escape ? 4 * (n == 0 ? 1 : n) : n;

        if (o + need >= outlen) {
            break;
        }
        if (!escape) {
            memcpy(out + o, s + i, n);
        } else {
            for (size_t k = 0; k < (n == 0 ? 1 : n); k++) {
                snprintf(out + o + 4 * k, 5, "\\x%02x", s[i + k]);
            }
        }
        o += need;
        i += n == 0 ? 1 : n;
    }
    out[o] = '\0';
    return i;
}

size_t pm_utf8_boundary(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t lead = len;

    /* back over at most 3 continuation bytes to the character's lead */
    while (lead > 0 && len - lead < 4 && (s[lead - 1] & 0xc0) == 0x80) {
        lead--;
    }
    if (lead == 0 || len - lead >= 4 || s[lead - 1] < 0xc0) {
        return len; /* ends on ASCII or stray continuation bytes: keep */
    }
    lead--; /* s[lead] is a lead byte: whole when its length fits */
    return utf8_char(s + lead, len - lead) == len - lead ? len : lead;
}
