/* test_name.c - the rules for names of arrays, attribute keys and lock
 * keys (DESIGN 3), checked below the API by mmsi_check_name: 1..255 bytes
 * of well-formed UTF-8, no control character, no leading '/'. */
#include "testutil.h"

#include "base.h"

#include <string.h>

static void accepts(const char *name)
{
    int rc = mmsi_check_name(name, "name");
    TU_CHECKF(rc == MMS_OK, "'%s' refused: %s", name, mms_errmsg());
}

static void refuses(const char *name, const char *why, const char *label)
{
    int rc = mmsi_check_name(name, "name");
    TU_CHECKF(rc == MMS_ERR_INVAL, "%s accepted (rc %d)", label, rc);
    TU_CHECKF(strstr(mms_errmsg(), why) != NULL,
              "%s: message '%s' does not say '%s'", label, mms_errmsg(), why);
}

static void ordinary_names_are_accepted(void)
{
    accepts("x");
    accepts("images/cat.png");
    accepts("a b-c_d.e:f");
    accepts("trailing/");
    accepts("\xc3\xa9t\xc3\xa9");          /* été */
    accepts("\xe6\x97\xa5\xe6\x9c\xac");   /* 日本 */
    accepts("\xf0\x9f\x90\x88");           /* U+1F408, 4 bytes */
    accepts("\xf4\x8f\xbf\xbf");           /* U+10FFFF, the last */
}

static void name_of_255_bytes_is_the_longest(void)
{
    char name[MMS_NAME_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[MMS_NAME_MAX] = '\0';
    accepts(name);
    name[MMS_NAME_MAX] = 'n';
    name[MMS_NAME_MAX + 1] = '\0';
    refuses(name, "256 bytes long", "a 256-byte name");
}

static void empty_null_and_rooted_names_are_refused(void)
{
    refuses("", "empty", "the empty name");
    TU_RC(MMS_ERR_INVAL, mmsi_check_name(NULL, "name"));
    refuses("/abs", "starts with '/'", "a name starting with /");
}

static void control_characters_are_refused_with_their_offset(void)
{
    refuses("a\nb", "byte 0x0a at offset 1", "a newline");
    refuses("\x01", "byte 0x01 at offset 0", "byte 1");
    refuses("del\x7f", "byte 0x7f at offset 3", "DEL");
    refuses("esc\x1b[31m", "byte 0x1b", "an escape sequence");
    /* C1 controls, as terminals read them: NEL and CSI. */
    refuses("a\xc2\x85" "b", "U+0085 at offset 1", "NEL (U+0085)");
    refuses("\xc2\x9b" "31m", "U+009B at offset 0", "CSI (U+009B)");
    accepts("nbsp\xc2\xa0here"); /* U+00A0 is no control */
}

static void malformed_utf8_is_refused(void)
{
    refuses("\xc0\x80", "UTF-8", "an overlong NUL");
    refuses("\xe0\x80\xaf", "UTF-8", "an overlong '/'");
    refuses("\xed\xa0\x80", "UTF-8", "a surrogate");
    refuses("\xf4\x90\x80\x80", "UTF-8", "a code point past U+10FFFF");
    refuses("\xe2\x82", "UTF-8", "a truncated sequence");
    refuses("\x80", "UTF-8", "a lone continuation byte");
    refuses("\xff", "UTF-8", "byte 0xff");
}

static void the_message_names_what_was_checked(void)
{
    TU_RC(MMS_ERR_INVAL, mmsi_check_name("", "attribute key"));
    CU_ASSERT(strstr(mms_errmsg(), "attribute key") != NULL);
}

static void escaped(const char *in, size_t max_in, const char *want)
{
    char out[256];
    mmsi_escape(in, max_in, out, sizeof out);
    TU_CHECKF(strcmp(out, want) == 0, "escape gave '%s', expected '%s'", out,
              want);
}

/* Names and keys reach messages escaped (issue 11 item 13): no byte from a
 * caller or a file drives the terminal. */
static void untrusted_text_is_escaped_for_terminals(void)
{
    escaped("plain/name.v1", 100, "plain/name.v1");
    escaped("\xc3\xa9t\xc3\xa9", 100, "\xc3\xa9t\xc3\xa9"); /* UTF-8 passes */
    escaped("a\nb\x1b[31m", 100, "a\\x0ab\\x1b[31m");
    escaped("del\x7f", 100, "del\\x7f");
    escaped("csi\xc2\x9b" "1m", 100, "csi\\xc2\\x9b1m");
    escaped("bad\xff\xc3", 100, "bad\\xff\\xc3");
    escaped("back\\slash", 100, "back\\x5cslash");
    escaped("0123456789", 4, "0123...");
    char small[8];
    mmsi_escape("\x01\x02\x03\x04", 100, small, sizeof small);
    TU_CHECKF(strlen(small) < sizeof small, "escape overran its buffer");
}

static void the_public_check_names_what_it_checks(void)
{
    TU_OK(mms_name_check("fine/name", NULL));
    TU_RC(MMS_ERR_INVAL, mms_name_check("/\x1b[2J", "attribute key"));
    CU_ASSERT(strstr(mms_errmsg(), "attribute key") != NULL);
    CU_ASSERT(strchr(mms_errmsg(), 0x1b) == NULL);
    TU_RC(MMS_ERR_INVAL, mms_name_check("", NULL));
    CU_ASSERT(strstr(mms_errmsg(), "name is empty") != NULL);
}

static const tu_test name_tests[] = {
    TU_TEST(ordinary_names_are_accepted),
    TU_TEST(name_of_255_bytes_is_the_longest),
    TU_TEST(empty_null_and_rooted_names_are_refused),
    TU_TEST(control_characters_are_refused_with_their_offset),
    TU_TEST(malformed_utf8_is_refused),
    TU_TEST(the_message_names_what_was_checked),
    TU_TEST(untrusted_text_is_escaped_for_terminals),
    TU_TEST(the_public_check_names_what_it_checks),
    TU_END,
};

static const tu_suite suites[] = {
    {"names", name_tests},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    return tu_main(argc, argv, suites);
}
