//! Byte-level JSON writing that matches Kafka Connect's `JsonConverter`
//! (Jackson) output exactly.
//!
//! Owns: string escaping, integer and floating-point formatting, base64 and
//! hex. Everything writes into a caller-owned `Vec<u8>` so the encoder can
//! reuse buffers and never builds a JSON tree.
//!
//! Why it matches: Jackson's generator (used by `JsonConverter` via
//! `ObjectMapper`) escapes `"` and `\`, writes `\b \t \n \f \r` as short
//! escapes and every other character below U+0020 as `\u00XX` with
//! upper-case hex (`CharTypes.HC`), and writes everything else, including
//! non-ASCII, as raw UTF-8. Numbers: `int`/`long` in decimal; `float` and
//! `double` through Java's `Float.toString`/`Double.toString`, reproduced by
//! [`java_float_to_string`]/[`java_double_to_string`] from Rust's shortest
//! round-trip digits (the same digits the JDK ≥ 19 algorithm selects, except
//! for a few subnormals below 1e-322 where Java prefers a closer 2-digit
//! form); non-finite values as the quoted strings `"NaN"`, `"Infinity"`,
//! `"-Infinity"` (Jackson's default `QUOTE_NON_NUMERIC_NUMBERS`). Binary
//! values are base64 with the standard alphabet and padding
//! (`Base64Variants.MIME_NO_LINEFEEDS`).

/// What each byte needs when escaped: 0 = nothing, `u` = `\\u00XX`, else
/// the character after the backslash. Checking a table instead of
/// branching per byte matters: this runs over every string of every event.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes `s` as a JSON string body (without the surrounding quotes).
pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape != b'u' {
            out.extend_from_slice(&[b'\\', escape]);
        } else {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes `s` as a quoted JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Two ASCII digits for every value 0..100.
static DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

/// Decimal digits of `v`, two per division (timestamps in ns have 19).
pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// A fixed-capacity `fmt::Write` target, to format floats without
/// allocating (Rust's `{:e}` of any f64 fits in 32 bytes).
struct StackText {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes a finite float in Java's layout, from its shortest `{:e}` form.
fn write_java_finite(out: &mut Vec<u8>, v: impl std::fmt::LowerExp) {
    use std::fmt::Write as _;
    let mut text = StackText { buf: [0; 40], len: 0 };
    if write!(text, "{v:e}").is_ok() {
        if let Ok(sci) = std::str::from_utf8(&text.buf[..text.len]) {
            java_layout(out, sci);
            return;
        }
    }
    out.extend_from_slice(java_format(&format!("{v:e}")).as_bytes());
}

/// Writes a `double` as Jackson does.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() && v != 0.0 {
        write_java_finite(out, v);
    } else if v.is_finite() {
        out.extend_from_slice(java_double_to_string(v).as_bytes());
    } else {
        write_str(out, &java_double_to_string(v));
    }
}

/// Writes a `float` as Jackson does.
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() && v != 0.0 {
        write_java_finite(out, v);
    } else if v.is_finite() {
        out.extend_from_slice(java_float_to_string(v).as_bytes());
    } else {
        write_str(out, &java_float_to_string(v));
    }
}

/// Java's `Double.toString(double)`.
pub(crate) fn java_double_to_string(v: f64) -> String {
    java_to_string(v, v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative())
}

/// Java's `Float.toString(float)`.
pub(crate) fn java_float_to_string(v: f32) -> String {
    java_to_string(v, v.is_nan(), v.is_infinite(), v == 0.0, v.is_sign_negative())
}

/// The shared part of Java's `Double.toString` / `Float.toString`: the
/// special values, then the shortest round-tripping digits of `v` (which
/// is why `v` keeps its own type: an f32 widened to f64 has other digits).
fn java_to_string<T: std::fmt::LowerExp>(v: T, nan: bool, infinite: bool, zero: bool, negative: bool) -> String {
    match (nan, infinite, zero, negative) {
        (true, ..) => "NaN".into(),
        (_, true, _, false) => "Infinity".into(),
        (_, true, _, true) => "-Infinity".into(),
        (_, _, true, true) => "-0.0".into(),
        (_, _, true, false) => "0.0".into(),
        _ => java_format(&format!("{v:e}")),
    }
}

/// Turns Rust's shortest scientific form (`-1.2345e3`) into Java's layout.
fn java_format(sci: &str) -> String {
    let mut out = Vec::with_capacity(sci.len() + 8);
    java_layout(&mut out, sci);
    String::from_utf8(out).unwrap_or_default()
}

/// Java's layout of shortest digits: plain `ddd.ddd` (at least one
/// fraction digit) for 1e-3 ≤ |v| < 1e7, otherwise `d.dddE[-]n`.
fn java_layout(out: &mut Vec<u8>, sci: &str) {
    let (negative, rest) = match sci.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, sci),
    };
    let (mantissa, exp) = rest.split_once('e').unwrap_or((rest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digit_buf = [0u8; 40];
    let mut n = 0;
    for b in mantissa.bytes().filter(|b| *b != b'.') {
        if n < digit_buf.len() {
            digit_buf[n] = b;
            n += 1;
        }
    }
    let digits = &digit_buf[..n.max(1)];
    if negative {
        out.push(b'-');
    }
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        out.extend_from_slice(if digits.len() > 1 { &digits[1..] } else { b"0" });
        out.push(b'E');
        write_i64(out, i64::from(exp));
    }
}

/// `new java.math.BigDecimal(v).toPlainString()`: the exact decimal value of
/// a finite double, without exponent and without trailing fraction zeros.
pub(crate) fn exact_decimal_plain(v: f64) -> String {
    if !v.is_finite() {
        return java_double_to_string(v);
    }
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7FF) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut mantissa, mut exp) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp_bits - 1075)
    };
    if mantissa == 0 {
        return "0".into();
    }
    while mantissa & 1 == 0 && exp < 0 {
        mantissa >>= 1;
        exp += 1;
    }
    // Big number in base 1e9 limbs, little-endian.
    let mut limbs: Vec<u64> = vec![
        mantissa % 1_000_000_000,
        mantissa / 1_000_000_000 % 1_000_000_000,
        mantissa / 1_000_000_000_000_000_000,
    ];
    let mul = |limbs: &mut Vec<u64>, m: u64| {
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let x = *limb * m + carry;
            *limb = x % 1_000_000_000;
            carry = x / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    };
    let scale = if exp >= 0 {
        let mut e = exp;
        while e > 0 {
            let step = e.min(30);
            mul(&mut limbs, 1u64 << step);
            e -= step;
        }
        0usize
    } else {
        let mut k = -exp;
        while k > 0 {
            let step = k.min(13);
            mul(&mut limbs, 5u64.pow(step as u32));
            k -= step;
        }
        (-exp) as usize
    };
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut digits = limbs.last().map(|l| l.to_string()).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        digits.push_str(&format!("{limb:09}"));
    }
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if negative {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

const BASE64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Appends base64 (with padding) of `data`; `url_safe` selects the
/// URL-safe alphabet (Java's `Base64.getUrlEncoder()`, which also pads).
pub(crate) fn write_base64(out: &mut Vec<u8>, data: &[u8], url_safe: bool) {
    let table = if url_safe { BASE64_URL } else { BASE64_STD };
    out.reserve(data.len().div_ceil(3) * 4);
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            table[(n >> 18) as usize & 63],
            table[(n >> 12) as usize & 63],
            table[(n >> 6) as usize & 63],
            table[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                table[(n >> 18) as usize & 63],
                table[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[
                table[(n >> 18) as usize & 63],
                table[(n >> 12) as usize & 63],
                table[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

/// Base64 into a `String` (used by the binlog JSON renderer for opaques).
pub(crate) fn push_base64(out: &mut String, data: &[u8], url_safe: bool) {
    let mut buf = Vec::with_capacity(data.len().div_ceil(3) * 4);
    write_base64(&mut buf, data, url_safe);
    // Base64 output is ASCII.
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// Lower-case hex (Debezium's `HexConverter`).
pub(crate) fn write_hex(out: &mut Vec<u8>, data: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(data.len() * 2);
    for &b in data {
        out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        write_str(&mut v, s);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn escaping_matches_jackson() {
        assert_eq!(esc("plain"), r#""plain""#);
        assert_eq!(esc("q\"b\\s/"), r#""q\"b\\s/""#);
        assert_eq!(esc("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(esc("\u{1}\u{1f}\u{7f}"), "\"\\u0001\\u001F\u{7f}\"");
        assert_eq!(esc("é😀\u{2028}"), "\"é😀\u{2028}\"");
        assert_eq!(esc(""), r#""""#);
    }

    #[test]
    fn doubles_match_java() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-2.25, "-2.25"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (9999999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1.2345e10, "1.2345E10"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157E308"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (123.456, "123.456"),
            (1e-10, "1.0E-10"),
        ];
        for (v, want) in cases {
            assert_eq!(java_double_to_string(*v), *want, "{v}");
        }
        assert_eq!(java_float_to_string(1.1f32), "1.1");
        assert_eq!(java_float_to_string(3.4028235e38f32), "3.4028235E38");
        assert_eq!(java_float_to_string(-1.5f32), "-1.5");
        let mut v = Vec::new();
        write_f64(&mut v, f64::NAN);
        assert_eq!(v, b"\"NaN\"");
    }

    #[test]
    fn exact_plain_matches_bigdecimal() {
        assert_eq!(exact_decimal_plain(1e20), "100000000000000000000");
        assert_eq!(exact_decimal_plain(0.5), "0.5");
        assert_eq!(exact_decimal_plain(-2.0), "-2");
        assert_eq!(
            exact_decimal_plain(0.0001),
            "0.000100000000000000004792173602385929598312941379845142364501953125"
        );
        assert_eq!(exact_decimal_plain(0.0), "0");
        assert_eq!(exact_decimal_plain(1e7), "10000000");
    }

    #[test]
    fn base64_and_hex() {
        let b64 = |d: &[u8], url: bool| {
            let mut v = Vec::new();
            write_base64(&mut v, d, url);
            String::from_utf8(v).expect("ascii")
        };
        assert_eq!(b64(b"", false), "");
        assert_eq!(b64(b"f", false), "Zg==");
        assert_eq!(b64(b"fo", false), "Zm8=");
        assert_eq!(b64(b"foo", false), "Zm9v");
        assert_eq!(b64(&[0xFB, 0xFF], false), "+/8=");
        assert_eq!(b64(&[0xFB, 0xFF], true), "-_8=");
        let mut h = Vec::new();
        write_hex(&mut h, &[0xDE, 0xAD, 0x01]);
        assert_eq!(h, b"dead01");
        let mut n = Vec::new();
        write_i64(&mut n, i64::MIN);
        n.push(b' ');
        write_u64(&mut n, u64::MAX);
        assert_eq!(n, b"-9223372036854775808 18446744073709551615");
    }
}

#[cfg(test)]
mod digit_and_escape_tests {
    use super::*;

    #[test]
    fn integers_match_std() {
        for v in [0i64, 7, 9, 10, 42, 99, 100, 101, 999, 1000, 12345, 1_795_766_437_476_000_000, i64::MAX, i64::MIN, -1, -10, -100] {
            let mut out = Vec::new();
            write_i64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        let mut out = Vec::new();
        write_u64(&mut out, u64::MAX);
        assert_eq!(String::from_utf8(out).unwrap(), u64::MAX.to_string());
    }

    #[test]
    fn escaped_strings_parse_back() {
        for s in ["", "plain", "quote\"back\\slash", "ctl\u{1}\u{8}\t\n\u{c}\r\u{1f}", "émoji 🎉 ok"] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
        let mut out = Vec::new();
        write_escaped(&mut out, "\u{1}");
        assert_eq!(out, b"\\u0001");
    }
}
