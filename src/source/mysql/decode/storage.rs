//! The server's storage formats of values in row images: signed 24-bit
//! integers, `YEAR`, `DATE`, `TIME2`, `DATETIME2`, fractional seconds,
//! `BINARY(n)` padding and binary `DECIMAL`.
//!
//! # Why it is correct
//!
//! Each format is hand-parsed per the server's storage format (documented
//! on each function), fixing the mysql_common pitfalls listed in
//! MARIADB.md:
//!
//! - signed `MEDIUMINT` is sign-extended from 24 bits;
//! - `YEAR` `0000` stays `Year(0)` (mysql_common: 1900);
//! - `BINARY(n)` values, which the server stores with trailing `0x00`
//!   stripped, are padded back to `n` bytes;
//! - `TIME2`, `DATETIME2`, `TIMESTAMP2` with fsp 0..=6, negative `TIME` with
//!   fractions (the server's "reverse fraction" encoding), and zero dates
//!   are decoded as stored.
//!
//! A `DECIMAL` whose bytes are not a valid encoding is `None`, never a
//! wrong number.

use super::cursor::{be_uint, Cursor};
use crate::source::mysql::column::ColumnValue;

/// Sign-extends a 24-bit two's complement value (signed `MEDIUMINT`).
pub(super) fn sign_extend_24(v: u32) -> i64 {
    i64::from(((v << 8) as i32) >> 8)
}

/// YEAR is stored as `year - 1900`, with `0` meaning `0000`.
pub(super) fn year_from_byte(b: u8) -> u16 {
    if b == 0 {
        0
    } else {
        1900 + u16::from(b)
    }
}

/// DATE (`NEWDATE`): `year << 9 | month << 5 | day`, 3 bytes little-endian.
pub(super) fn date_from_packed(v: u32) -> (u16, u8, u8) {
    ((v >> 9) as u16, ((v >> 5) & 15) as u8, (v & 31) as u8)
}

/// Bytes of fractional seconds for an fsp (`(fsp + 1) / 2`).
pub(super) fn fsp_bytes(fsp: u8) -> usize {
    usize::from(fsp).div_ceil(2)
}

/// Fractional seconds (big-endian, `fsp_bytes(fsp)` bytes) in microseconds.
pub(super) fn frac_micros(bytes: &[u8], fsp: u8) -> u32 {
    let v = be_uint(bytes) as u32;
    match fsp_bytes(fsp) {
        1 => v * 10_000,
        2 => v * 100,
        _ => v,
    }
}

/// Pads a `BINARY(n)` value with the trailing zero bytes the server strips.
pub(super) fn pad_binary(v: &mut Vec<u8>, pad_to: u32) {
    let pad_to = pad_to as usize;
    if v.len() < pad_to {
        v.resize(pad_to, 0);
    }
}

/// TIME2: 3 bytes big-endian `1 sign | 1 unused | 10 hour | 6 min | 6 sec`
/// offset by `0x800000`, then 0..3 fraction bytes. Negative values store
/// the fraction "reversed" for sort order (MySQL `my_time_packed_from_binary`).
pub(super) fn time2_from_binary(bytes: &[u8], fsp: u8) -> ColumnValue {
    const INT_OFS: i64 = 0x80_0000;
    let int_part = be_uint(&bytes[..3]) as i64 - INT_OFS;
    let packed: i64 = match fsp_bytes(fsp) {
        0 => int_part << 24,
        1 => {
            let (mut int_part, mut frac) = (int_part, i64::from(bytes[3]));
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x100;
            }
            (int_part << 24) + frac * 10_000
        }
        2 => {
            let (mut int_part, mut frac) = (int_part, be_uint(&bytes[3..5]) as i64);
            if int_part < 0 && frac != 0 {
                int_part += 1;
                frac -= 0x10000;
            }
            (int_part << 24) + frac * 100
        }
        _ => be_uint(&bytes[..6]) as i64 - 0x8000_0000_0000,
    };
    let negative = packed < 0;
    let abs = packed.unsigned_abs();
    let hms = abs >> 24;
    ColumnValue::Time {
        negative,
        hours: ((hms >> 12) % (1 << 10)) as u16,
        minutes: ((hms >> 6) % (1 << 6)) as u8,
        seconds: (hms % (1 << 6)) as u8,
        micros: (abs % (1 << 24)) as u32,
    }
}

/// DATETIME2: 5 bytes big-endian `1 sign | 17 year*13+month | 5 day |
/// 5 hour | 6 min | 6 sec` offset by `0x8000000000`, then 0..3 fraction bytes.
pub(super) fn datetime2_from_binary(bytes: &[u8], fsp: u8) -> ColumnValue {
    let int_part = be_uint(&bytes[..5]) as i64 - 0x80_0000_0000;
    let ymdhms = int_part.unsigned_abs();
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms % (1 << 17);
    ColumnValue::DateTime {
        year: (ym / 13) as u16,
        month: (ym % 13) as u8,
        day: (ymd % (1 << 5)) as u8,
        hour: (hms >> 12) as u8,
        minute: ((hms >> 6) % (1 << 6)) as u8,
        second: (hms % (1 << 6)) as u8,
        micros: frac_micros(&bytes[5..], fsp),
    }
}

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Storage size of a binary DECIMAL(precision, scale).
pub(super) fn decimal_bin_size(precision: u8, scale: u8) -> usize {
    let (intg, frac) = (usize::from(precision - scale.min(precision)), usize::from(scale));
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
}

/// Decodes MySQL's binary DECIMAL into canonical plain notation (see
/// [`ColumnValue::Decimal`]). `None` if the bytes are not a valid encoding.
///
/// Format: groups of 9 decimal digits in 4 big-endian bytes, with a
/// shorter leading integer group and trailing fraction group; the first
/// byte's high bit is set for non-negative numbers, and negative numbers
/// have every byte inverted.
pub(crate) fn decode_decimal(bytes: &[u8], precision: u8, scale: u8) -> Option<String> {
    if scale > precision || bytes.len() != decimal_bin_size(precision, scale) || bytes.is_empty() {
        return None;
    }
    let intg = usize::from(precision - scale);
    let frac = usize::from(scale);
    let negative = bytes[0] & 0x80 == 0;
    let mask: u8 = if negative { 0xFF } else { 0 };
    let mut buf = bytes.to_vec();
    buf[0] ^= 0x80;
    for b in &mut buf {
        *b ^= mask;
    }
    let mut cur = Cursor::new(&buf);
    let mut int_digits = String::with_capacity(intg + 1);
    let group = |cur: &mut Cursor<'_>, digits: usize, out: &mut String| -> Option<()> {
        if digits == 0 {
            return Some(());
        }
        let v = be_uint(cur.take(DIG2BYTES[digits])?);
        if v >= 10u64.pow(digits as u32) {
            return None;
        }
        out.push_str(&format!("{v:0digits$}"));
        Some(())
    };
    group(&mut cur, intg % 9, &mut int_digits)?;
    for _ in 0..intg / 9 {
        group(&mut cur, 9, &mut int_digits)?;
    }
    let mut frac_digits = String::with_capacity(frac);
    for _ in 0..frac / 9 {
        group(&mut cur, 9, &mut frac_digits)?;
    }
    group(&mut cur, frac % 9, &mut frac_digits)?;
    let int_trimmed = int_digits.trim_start_matches('0');
    let is_zero = int_trimmed.is_empty() && frac_digits.bytes().all(|b| b == b'0');
    let mut out = String::with_capacity(int_trimmed.len() + frac + 3);
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(if int_trimmed.is_empty() { "0" } else { int_trimmed });
    if frac > 0 {
        out.push('.');
        out.push_str(&frac_digits);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_extension_of_mediumint() {
        assert_eq!(sign_extend_24(0xFF_FFFF), -1);
        assert_eq!(sign_extend_24(0x80_0000), -8_388_608);
        assert_eq!(sign_extend_24(0x7F_FFFF), 8_388_607);
        assert_eq!(sign_extend_24(0), 0);
    }

    #[test]
    fn year_zero_is_kept() {
        assert_eq!(year_from_byte(0), 0);
        assert_eq!(year_from_byte(1), 1901);
        assert_eq!(year_from_byte(255), 2155);
    }

    #[test]
    fn binary_padding() {
        let mut v = vec![1, 2];
        pad_binary(&mut v, 4);
        assert_eq!(v, vec![1, 2, 0, 0]);
        let mut w = vec![1, 2, 3];
        pad_binary(&mut w, 2);
        assert_eq!(w, vec![1, 2, 3]);
    }

    #[test]
    fn decimals() {
        // DECIMAL(14,4) 1234567890.1234 from the MySQL documentation.
        let bytes = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
        assert_eq!(decode_decimal(&bytes, 14, 4).as_deref(), Some("1234567890.1234"));
        let neg: Vec<u8> = bytes.iter().map(|b| !b).collect();
        assert_eq!(decode_decimal(&neg, 14, 4).as_deref(), Some("-1234567890.1234"));
        // DECIMAL(5,2): 0.00, -0.50, 999.99
        assert_eq!(decimal_bin_size(5, 2), 3);
        assert_eq!(decode_decimal(&[0x80, 0x00, 0x00], 5, 2).as_deref(), Some("0.00"));
        assert_eq!(decode_decimal(&[0x7F, 0xFF, 0xCD], 5, 2).as_deref(), Some("-0.50"));
        assert_eq!(decode_decimal(&[0x83, 0xE7, 0x63], 5, 2).as_deref(), Some("999.99"));
        // DECIMAL(10,0): 10 digits = 1 leading digit (1 byte) + 9 (4 bytes).
        assert_eq!(decimal_bin_size(10, 0), 5);
        assert_eq!(
            decode_decimal(&[0x81, 0x00, 0x00, 0x00, 0x07], 10, 0).as_deref(),
            Some("1000000007")
        );
        // Corrupt: group exceeds its digit count.
        assert_eq!(decode_decimal(&[0x80, 0xFF, 0xFF], 5, 2), None);
        assert_eq!(decode_decimal(&[0x80], 5, 2), None);
    }

    #[test]
    fn time2_values() {
        // 00:00:00, TIME(0)
        assert_eq!(
            time2_from_binary(&[0x80, 0x00, 0x00], 0),
            ColumnValue::Time {
                negative: false,
                hours: 0,
                minutes: 0,
                seconds: 0,
                micros: 0
            }
        );
        // 838:59:59
        let v = (838u64 << 12) | (59 << 6) | 59;
        let b = (0x80_0000 + v).to_be_bytes();
        assert_eq!(
            time2_from_binary(&b[5..8], 0),
            ColumnValue::Time {
                negative: false,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0
            }
        );
        // -00:00:01.5 at fsp 1: disk 7FFFFF.CE? MySQL: intpart -1 (frac
        // 50 reversed: 0x100 - 50 = 0xCE) per the table in my_time.cc.
        assert_eq!(
            time2_from_binary(&[0x7F, 0xFF, 0xFE, 0xCE], 1),
            ColumnValue::Time {
                negative: true,
                hours: 0,
                minutes: 0,
                seconds: 1,
                micros: 500_000
            }
        );
        // -00:00:00.01 at fsp 2 (1 byte): 7FFFFF.FF
        assert_eq!(
            time2_from_binary(&[0x7F, 0xFF, 0xFF, 0xFF], 2),
            ColumnValue::Time {
                negative: true,
                hours: 0,
                minutes: 0,
                seconds: 0,
                micros: 10_000
            }
        );
        // -00:00:01.00 at fsp 2: 7FFFFF.00
        assert_eq!(
            time2_from_binary(&[0x7F, 0xFF, 0xFF, 0x00], 2),
            ColumnValue::Time {
                negative: true,
                hours: 0,
                minutes: 0,
                seconds: 1,
                micros: 0
            }
        );
        // 12:34:56.789012 at fsp 6.
        let hms = (12u64 << 12) | (34 << 6) | 56;
        let packed = ((hms << 24) + 789_012) + 0x8000_0000_0000;
        let b = packed.to_be_bytes();
        assert_eq!(
            time2_from_binary(&b[2..8], 6),
            ColumnValue::Time {
                negative: false,
                hours: 12,
                minutes: 34,
                seconds: 56,
                micros: 789_012
            }
        );
        // -12:34:56.789012 at fsp 6.
        let packed = 0x8000_0000_0000u64 - ((hms << 24) + 789_012);
        let b = packed.to_be_bytes();
        assert_eq!(
            time2_from_binary(&b[2..8], 6),
            ColumnValue::Time {
                negative: true,
                hours: 12,
                minutes: 34,
                seconds: 56,
                micros: 789_012
            }
        );
    }

    #[test]
    fn datetime2_values() {
        // 2018-06-20 06:37:03.123 at fsp 3.
        let ym = 2018u64 * 13 + 6;
        let v = (((ym << 5) | 20) << 17) | (6 << 12) | (37 << 6) | 3;
        let b = (0x80_0000_0000 + v).to_be_bytes();
        let mut bytes = b[3..8].to_vec();
        bytes.extend_from_slice(&1230u16.to_be_bytes());
        assert_eq!(
            datetime2_from_binary(&bytes, 3),
            ColumnValue::DateTime {
                year: 2018,
                month: 6,
                day: 20,
                hour: 6,
                minute: 37,
                second: 3,
                micros: 123_000
            }
        );
        // Zero datetime.
        assert_eq!(
            datetime2_from_binary(&[0x80, 0, 0, 0, 0], 0),
            ColumnValue::DateTime {
                year: 0,
                month: 0,
                day: 0,
                hour: 0,
                minute: 0,
                second: 0,
                micros: 0
            }
        );
        assert_eq!(date_from_packed((2024 << 9) | (2 << 5) | 29), (2024, 2, 29));
        assert_eq!(date_from_packed(0), (0, 0, 0));
        assert_eq!(frac_micros(&[0x01, 0xE2, 0x40], 6), 123_456 + 0x01E240 - 123_456);
        assert_eq!(frac_micros(&[99], 1), 990_000);
    }
}
