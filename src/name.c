/* name.c - the rules for names of arrays, attribute keys and lock keys
 * (DESIGN 3): 1..255 bytes of UTF-8, no control characters (C0, DEL, C1),
 * no leading '/'. A name never reaches a path, so these rules are about what a user
 * can type and see, not about safety of the file system. */
#include "base.h"

#include <string.h>

/* UTF-8 well-formedness (no overlongs, no surrogates, <= U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        unsigned cp = c & (0x7f >> len);
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

void mmsi_escape(const char *text, size_t max_in, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), o = 0, i = 0;
    if (size == 0)
        return;
    while (i < n && i < max_in && o + 5 < size) {
        unsigned c = s[i];
        size_t len = 1;
        bool plain = c >= 0x20 && c < 0x7f && c != '\\';
        if (c >= 0x80) {
            /* A well-formed sequence that is no C1 control passes whole. */
            len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
            plain = len && i + len <= n && valid_utf8(s + i, len) &&
                    !(c == 0xc2 && s[i + 1] < 0xa0);
            if (!plain)
                len = 1;
        }
        if (plain && o + len < size) {
            memcpy(out + o, s + i, len);
            o += len;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        i += len;
    }
    if (i < n && o + 3 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int mms_name_check(const char *text, const char *what)
{
    return mmsi_check_name(text, what ? what : "name");
}

int mmsi_check_name(const char *name, const char *what)
{
    if (!name)
        return mmsi_err(MMS_ERR_INVAL, "%s is NULL", what);
    size_t n = strlen(name);
    if (n == 0)
        return mmsi_err(MMS_ERR_INVAL, "%s is empty", what);
    if (n > MMS_NAME_MAX)
    {
        char shown[200];
        mmsi_escape(name, 40, shown, sizeof shown);
        return mmsi_err(MMS_ERR_INVAL, "%s '%s' is %zu bytes long (at most "
                        "%d)", what, shown, n, MMS_NAME_MAX);
    }
    if (name[0] == '/')
    {
        char shown[200];
        mmsi_escape(name, 40, shown, sizeof shown);
        return mmsi_err(MMS_ERR_INVAL, "%s '%s' starts with '/'", what,
                        shown);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return mmsi_err(MMS_ERR_INVAL, "%s has a control character "
                            "(byte 0x%02x at offset %zu)", what, c, i);
    }
    if (!valid_utf8((const unsigned char *)name, n))
        return mmsi_err(MMS_ERR_INVAL, "%s is not valid UTF-8", what);
    /* C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F) drive terminals as
     * C0 ones do (CSI is U+009B): refused alike. */
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)name[i], d = (unsigned char)name[i + 1];
        if (c == 0xc2 && d >= 0x80 && d <= 0x9f)
            return mmsi_err(MMS_ERR_INVAL, "%s has a C1 control character "
                            "(U+%04X at offset %zu)", what, d, i);
    }
    return MMS_OK;
}
