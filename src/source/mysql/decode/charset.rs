//! Text decoding by MySQL character set: the bytes of CHAR/VARCHAR/TEXT
//! values and of ENUM/SET member names into `String`s.
//!
//! # Why it is correct
//!
//! It matches Java's decoder for the same charset, as Debezium uses it:
//! `latin1` is Windows-1252 (Java `Cp1252`) with its five undefined bytes
//! as U+FFFD; UCS-2/UTF-16/UTF-16LE/UTF-32 decode by code unit with
//! invalid or incomplete units as U+FFFD; UTF-8 flavours, ASCII and the
//! rest are read as UTF-8 with invalid sequences replaced.

use crate::source::mysql::column::Charset;

/// Decodes bytes in a MySQL character set into a `String` the way Java's
/// decoder for the same charset does (invalid input → U+FFFD).
pub(super) fn decode_text(charset: Charset, bytes: &[u8]) -> String {
    match charset {
        Charset::Latin1 => bytes.iter().map(|&b| cp1252_char(b)).collect(),
        Charset::Ucs2 | Charset::Utf16 => {
            let units = bytes.chunks(2).map(|c| {
                if c.len() == 2 {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    0xFFFD
                }
            });
            char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')).collect()
        }
        Charset::Utf16le => {
            let units = bytes.chunks(2).map(|c| {
                if c.len() == 2 {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    0xFFFD
                }
            });
            char::decode_utf16(units).map(|r| r.unwrap_or('\u{FFFD}')).collect()
        }
        Charset::Utf32 => bytes
            .chunks(4)
            .map(|c| {
                if c.len() == 4 {
                    char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{FFFD}')
                } else {
                    '\u{FFFD}'
                }
            })
            .collect(),
        Charset::Utf8mb4 | Charset::Utf8mb3 | Charset::Ascii | Charset::Binary | Charset::Other => {
            match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            }
        }
    }
}

/// Windows-1252 (MySQL `latin1`, Java `Cp1252`); the five undefined bytes
/// decode to U+FFFD as Java's decoder does.
fn cp1252_char(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD,
        0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0xFFFD, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_is_cp1252() {
        assert_eq!(decode_text(Charset::Latin1, b"caf\xe9 \x80"), "café €");
        assert_eq!(decode_text(Charset::Latin1, b"\x81"), "\u{FFFD}");
        assert_eq!(decode_text(Charset::Utf8mb4, "😀".as_bytes()), "😀");
        assert_eq!(decode_text(Charset::Utf16, &[0xD8, 0x3D, 0xDE, 0x00]), "😀");
        assert_eq!(decode_text(Charset::Utf8mb4, b"a\xffb"), "a\u{FFFD}b");
    }
}
