#!/bin/sh
# test_image.sh - PNG and JPEG in `mmstore import` and `export`, checked
# against Pillow (an independent reader and writer; tests/cli/image_pil.py):
#  - every kind of PNG (grey, grey+alpha, RGB, RGBA, 1-bit, palettes with
#    and without transparency, 16-bit, interlaced, extra chunks) and JPEG
#    (grey, 4:2:0 and 4:4:4 colour, progressive) imports to the pixels
#    Pillow decodes, with the dtype and shape the manual promises;
#  - exports of every shape each format holds read back in Pillow (PNG
#    exactly, JPEG within its loss) and import back to the same array;
#  - names, --format, magic numbers, stdin and stdout pipelines, --quality;
#  - malformed and lying files, arrays a format cannot hold and bad
#    options fail with a message saying why, and leave the store exactly
#    as it was and no partial output file.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib/lib.sh"

find_mmstore M
IP=$top_srcdir/tests/cli/image_pil.py
require_numpy
if ! "$PY" -c 'import PIL.Image' >"$T/py.err" 2>&1; then
    fail "$PY cannot import PIL: $(tail -n 1 "$T/py.err");" \
         "run scripts/install-deps.sh (Debian's python3-pil)"
    finish
fi

S=$T/store
unset MMSTORE_DIR
mm() { "$M" --quiet --store "$S" "$@"; }
check "mmstore init makes the test store" mm init

# pil WHAT ARGS... DESC: image_pil.py's check, counted.
pil() {
    desc=$1
    shift
    if why=$("$PY" "$IP" "$@" 2>&1); then
        ok "$desc"
    else
        fail "$desc: $why"
    fi
}

# ---- import: every kind of file, against Pillow's decoding ---------------
IN=$T/in
if ! "$PY" "$IP" make "$IN" >"$T/cases" 2>"$T/make.err"; then
    fail "image_pil.py make failed: $(tail -n 3 "$T/make.err")"
    finish
fi
grep -v '^bad ' "$T/cases" | while read -r c file; do
    if ! mm import "$file" "in/$c" 2>"$T/err"; then
        echo "FAIL $c: import: $(head -n 1 "$T/err")"
    elif ! mm export "in/$c" "$T/$c.npy" 2>"$T/err"; then
        echo "FAIL $c: export to .npy: $(head -n 1 "$T/err")"
    else
        echo "GOT $c"
    fi
done >"$T/imported"
while read -r what c rest; do
    if [ "$what" = GOT ]; then
        pil "import of $c gives Pillow's pixels, dtype and shape" \
            same "$IN/$c.want.npy" "$T/$c.npy"
    else
        fail "$c $rest"
    fi
done <"$T/imported"
[ "$(grep -c '^GOT' "$T/imported")" -eq 17 ] &&
    ok "all 17 image kinds imported" ||
    fail "only $(grep -c '^GOT' "$T/imported") of 17 image kinds imported"

# The manual's shapes, from `mmstore info`.
shape_is() {
    got=$(mm info "$1" | sed -n 's/^ *shape: *//p')
    dtype=$(mm info "$1" | sed -n 's/^ *dtype: *\([a-z0-9]*\).*/\1/p')
    if [ "$dtype $got" = "$2" ]; then
        ok "$1 is $2"
    else
        fail "$1 is '$dtype $got', expected '$2'"
    fi
}
shape_is in/png-grey "uint8 (37, 53)"
shape_is in/png-la "uint8 (37, 53, 2)"
shape_is in/png-palette "uint8 (37, 53, 3)"
shape_is in/png-palette-trns "uint8 (37, 53, 4)"
shape_is in/png-rgb16 "uint16 (37, 53, 3)"
shape_is in/jpeg-grey "uint8 (37, 53)"
shape_is in/jpeg-progressive "uint8 (37, 53, 3)"

# The name defaults to the base name; magic numbers find the format of
# stdin and of files with other names; --format says it outright.
check "import names the array after the file" \
    mm import "$IN/png-rgb.png"
pil "... with the same pixels" png "$IN/png-rgb.want.npy" "$IN/png-rgb.png"
check "a PNG on stdin is recognised by its signature" \
    sh -c "cat '$IN/png-rgba.png' | '$M' -q --store '$S' import - st/png"
check "a JPEG on stdin is recognised by its SOI marker" \
    sh -c "cat '$IN/jpeg-rgb.jpg' | '$M' -q --store '$S' import - st/jpeg"
cp "$IN/jpeg-grey.jpg" "$T/picture.data"
check "--format jpeg reads a file with another name" \
    mm import --format jpeg "$T/picture.data" fmt/jpeg
for n in png jpeg; do
    mm export "st/$n" "$T/st-$n.npy" 2>"$T/err" || fail "export st/$n"
done
pil "the stdin PNG has the file's pixels" same "$IN/png-rgba.want.npy" \
    "$T/st-png.npy"
pil "the stdin JPEG has the file's pixels" same "$IN/jpeg-rgb.want.npy" \
    "$T/st-jpeg.npy"
check "import --replace swaps in a new image" \
    mm import --replace "$IN/png-grey.png" png-rgb
shape_is png-rgb "uint8 (37, 53)"
expect_error "import over an existing array without --replace" \
    "exists|--replace" mm import "$IN/png-rgba.png" png-rgb

# ---- export: every shape each format holds --------------------------------
ARR=$T/arrays
"$PY" "$IP" arrays "$ARR" >"$T/arrays.list" 2>"$T/err" ||
    fail "image_pil.py arrays: $(tail -n 1 "$T/err")"
while read -r a; do
    mm import "$ARR/$a.npy" "out/$a" 2>"$T/err" ||
        { fail "import $a.npy: $(head -n 1 "$T/err")"; continue; }
    if mm export "out/$a" "$T/$a.png" 2>"$T/err"; then
        pil "export of $a to PNG reads in Pillow as the array" \
            png "$ARR/$a.npy" "$T/$a.png"
        # (H, W, 1) comes back as (H, W): PNG has no channel axis for grey.
        mm import "$T/$a.png" "back/$a" 2>"$T/err" &&
            mm export "back/$a" "$T/back-$a.npy" 2>"$T/err" &&
            "$PY" -c "import numpy as np, sys
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
sys.exit(0 if np.array_equal(a.reshape(b.shape), b) and
         a.dtype == b.dtype else 1)" "$ARR/$a.npy" "$T/back-$a.npy" &&
            ok "$a: PNG export then import gives the array back exactly" ||
            fail "$a: PNG round trip differs $(head -n 1 "$T/err")"
    else
        fail "export of $a to PNG: $(head -n 1 "$T/err")"
    fi
done <"$T/arrays.list"
for a in u8-grey u8-grey1 u8-rgb; do
    if mm export "out/$a" "$T/$a.jpg" 2>"$T/err"; then
        pil "export of $a to JPEG reads in Pillow within JPEG's loss" \
            jpeg "$ARR/$a.npy" "$T/$a.jpg" 5
    else
        fail "export of $a to JPEG: $(head -n 1 "$T/err")"
    fi
done
check "export --quality 20" mm export --quality 20 out/u8-rgb "$T/q20.jpg"
check "export --quality 98" mm export --quality 98 out/u8-rgb "$T/q98.jpg"
q20=$(wc -c <"$T/q20.jpg")
q98=$(wc -c <"$T/q98.jpg")
[ "$q20" -lt "$q98" ] && ok "quality 20 ($q20 bytes) < quality 98 ($q98)" ||
    fail "quality 20 gives $q20 bytes, quality 98 $q98"
pil "quality 98 is closer to the array" jpeg "$ARR/u8-rgb.npy" \
    "$T/q98.jpg" 3
check "export --format png to stdout" \
    sh -c "'$M' -q --store '$S' export --format png out/u8-rgba - \
           >'$T/stdout.png'"
pil "... gives a PNG of the array" png "$ARR/u8-rgba.npy" "$T/stdout.png"

# ---- what each format cannot hold: refused before a byte is written -------
mm create -t float32 -s 4,5 f32 2>/dev/null
mm create -t uint8 -s 4,5,5 five 2>/dev/null
mm create -t uint8 -s 40 flat 2>/dev/null
mm create -t uint8 -s 0,5 empty 2>/dev/null
mm create -t uint8 -s 70000,1 tall 2>/dev/null
no_output() {
    desc=$1
    pattern=$2
    out=$3
    shift 3
    expect_error "$desc" "$pattern" "$@"
    ls "$(dirname "$out")" | grep -q "^$(basename "$out")" &&
        fail "$desc: left $(ls "$(dirname "$out")" |
                             grep "^$(basename "$out")")" ||
        ok "$desc: no output file, no temporary left"
}
no_output "float32 to PNG" "float32.*uint8 or uint16" "$T/o1.png" \
    mm export f32 "$T/o1.png"
no_output "5 channels to PNG" "5 channels" "$T/o2.png" \
    mm export five "$T/o2.png"
no_output "a 1-D array to PNG" "1 axes" "$T/o3.png" mm export flat "$T/o3.png"
no_output "an empty image to PNG" "no pixels" "$T/o4.png" \
    mm export empty "$T/o4.png"
no_output "RGBA to JPEG" "4 channels.*JPEG holds" "$T/o5.jpg" \
    mm export out/u8-rgba "$T/o5.jpg"
no_output "uint16 to JPEG" "uint16" "$T/o6.jpg" mm export out/u16-rgb "$T/o6.jpg"
no_output "a height over JPEG's 65500" "height 70000" "$T/o7.jpg" \
    mm export tall "$T/o7.jpg"
mm export --quality 50 out/u8-rgb "$T/o8.png" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "quality is for JPEG" "$T/err" &&
    ok "--quality on a PNG export is a usage error" ||
    fail "--quality on PNG: $(head -n 1 "$T/err")"
for q in 0 101 x; do
    mm export --quality "$q" out/u8-rgb "$T/o9.jpg" >/dev/null 2>"$T/err"
    [ $? -eq 2 ] && grep -q "bad JPEG quality" "$T/err" &&
        ok "--quality $q is a usage error" ||
        fail "--quality $q: $(head -n 1 "$T/err")"
done

# ---- malformed and lying files --------------------------------------------
reason() {
    case $1 in
        empty|jpeg-empty) echo "it is empty" ;;
        signature-only|cut-*|jpeg-cut-*) echo "truncated|Premature end" ;;
        ihdr-crc|ancillary-crc) echo "CRC error" ;;
        idat-crc) echo "IDAT: (incorrect data check|invalid)" ;;
        width-zero) echo "width is zero" ;;
        depth-3) echo "bit depth" ;;
        colour-type-5) echo "color type" ;;
        lying-size) echo "100000 x 100000 pixels.*more than a file" ;;
        jpeg-lying-size) echo "60000 x 60000 pixels.*more than a file" ;;
        over-limit) echo "exceeds user limit" ;;
        short-idat) echo "Not enough image data" ;;
        npy-named-png) echo "not a PNG file.*holds .npy data" ;;
        jpeg-soi-only) echo "not a JPEG file" ;;
        jpeg-garbled-scan) echo "Corrupt JPEG data" ;;
        jpeg-cmyk) echo "CMYK" ;;
        png-named-jpg) echo "not a JPEG file.*holds PNG data" ;;
        *) echo "no reason known for $1" ;;
    esac
}
grep '^bad ' "$T/cases" >"$T/bad"
while read -r _ c file; do
    expect_error "import of $c fails" "$(reason "$c")" \
        mm import "$file" "bad/$c"
done <"$T/bad"
expect_error "a lying PNG on stdin (size unknown) still fails" \
    "Not enough image data" \
    sh -c "cat '$IN/bad/lying-size.png' | '$M' -q --store '$S' import - x"
expect_error "a lying JPEG on stdin (size unknown) still fails" \
    "Premature end|Corrupt" \
    sh -c "cat '$IN/bad/jpeg-lying-size.jpg' | '$M' -q --store '$S' import - x"
expect_error "a truncated JPEG on stdin fails" "Premature end" \
    sh -c "cat '$IN/bad/jpeg-cut-scan.jpg' | '$M' -q --store '$S' import - x"
[ "$(wc -l <"$T/bad")" -ge 20 ] && ok "$(wc -l <"$T/bad") malformed files" ||
    fail "only $(wc -l <"$T/bad") malformed files made"

finish
