//! The exact bytes CPython's `json.dumps(value, sort_keys=True)` prints.
//!
//! Default separators (`", "`, `": "`), keys sorted at every level, `ensure_ascii`
//! escaping, and floats in `repr` form. The writer walks the value with an explicit
//! stack, so arbitrarily deep input cannot overflow the thread's stack.

use serde_json::{Map, Number, Value};

/// Receives the canonical bytes in order; implemented by the hasher and by `Vec<u8>`.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A container the walk is inside of, with what is left of it.
enum Open<'a> {
    /// An array's remaining items; `true` before the first.
    Items(std::slice::Iter<'a, Value>, bool),
    /// An object's remaining members, the map already in key order; `true` before
    /// the first.
    Sorted(serde_json::map::Iter<'a>, bool),
    /// An object's remaining keys, sorted here; `true` before the first.
    Members(&'a Map<String, Value>, std::vec::IntoIter<&'a str>, bool),
}

impl<'a> Open<'a> {
    fn members(map: &'a Map<String, Value>) -> Self {
        // A `serde_json::Map` is a B-tree, in key order, unless some crate in the build
        // turns on `preserve_order`: then the keys are sorted here.
        let mut keys = map.keys();
        let in_order = match keys.next() {
            Some(mut last) => keys.all(|key| {
                let ordered = last.as_str() < key.as_str();
                last = key;
                ordered
            }),
            None => true,
        };
        if in_order {
            Open::Sorted(map.iter(), true)
        } else {
            Open::Members(map, sorted_keys(map).into_iter(), true)
        }
    }
}

/// Writes `value` as Python would print it.
pub(crate) fn write_value(value: &Value, out: &mut impl Sink) {
    walk(Some(value), Vec::new(), out);
}

/// Writes the object `map` as Python would print it.
#[cfg_attr(not(feature = "wire"), allow(dead_code))]
pub(crate) fn write_object(map: &Map<String, Value>, out: &mut impl Sink) {
    out.put(b"{");
    walk(None, vec![Open::members(map)], out);
}

/// Writes `next`, then closes every container on `stack`. One stack entry per open
/// container: memory follows the depth, never an array's length.
fn walk<'a>(mut next: Option<&'a Value>, mut stack: Vec<Open<'a>>, out: &mut impl Sink) {
    loop {
        if let Some(value) = next.take() {
            match value {
                Value::Null => out.put(b"null"),
                Value::Bool(true) => out.put(b"true"),
                Value::Bool(false) => out.put(b"false"),
                Value::Number(n) => write_number(n, out),
                Value::String(s) => write_str(s, out),
                Value::Array(items) => {
                    out.put(b"[");
                    stack.push(Open::Items(items.iter(), true));
                }
                Value::Object(map) => {
                    out.put(b"{");
                    stack.push(Open::members(map));
                }
            }
            continue;
        }
        let Some(open) = stack.last_mut() else { break };
        match open {
            Open::Items(items, first) => match items.next() {
                Some(item) => {
                    if !std::mem::take(first) {
                        out.put(b", ");
                    }
                    next = Some(item);
                }
                None => {
                    out.put(b"]");
                    stack.pop();
                }
            },
            Open::Sorted(members, first) => match members.next() {
                Some((key, value)) => {
                    if !std::mem::take(first) {
                        out.put(b", ");
                    }
                    write_str(key, out);
                    out.put(b": ");
                    next = Some(value);
                }
                None => {
                    out.put(b"}");
                    stack.pop();
                }
            },
            Open::Members(map, keys, first) => match keys.next() {
                Some(key) => {
                    if !std::mem::take(first) {
                        out.put(b", ");
                    }
                    write_str(key, out);
                    out.put(b": ");
                    next = map.get(key);
                }
                None => {
                    out.put(b"}");
                    stack.pop();
                }
            },
        }
    }
}

/// Keys in code-point order (Python's `sorted` on `str`), whatever order the map keeps.
fn sorted_keys(map: &Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    // UTF-8 byte order is code-point order.
    keys.sort_unstable();
    keys
}

fn write_number(n: &Number, out: &mut impl Sink) {
    if let Some(i) = n.as_i64() {
        put_integer(i, out);
    } else if let Some(u) = n.as_u64() {
        put_integer(u, out);
    } else if let Some(f) = n.as_f64() {
        out.put(float_repr(f).as_bytes());
    }
}

/// An integer's decimal digits, formatted on the stack (no allocation per number).
pub(crate) fn put_integer(n: impl itoa::Integer, out: &mut impl Sink) {
    out.put(itoa::Buffer::new().format(n).as_bytes());
}

/// Python's `repr(float)`: the shortest round-tripping digits, in positional form when
/// the decimal exponent is in `-5 < e < 16`, else `d.ddde±XX` with at least two exponent
/// digits. JSON numbers are always finite.
pub(crate) fn float_repr(f: f64) -> String {
    // serde_json prints the shortest round-trip digits, breaking exact ties to even as
    // CPython does (Rust's `{:e}` does not: -2941894096113.03125 prints as ...0313).
    let shortest = serde_json::to_string(&f).unwrap_or_default();
    let (negative, digits, exp) = decompose(&shortest);
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-5 < exp && exp < 16) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// A decimal literal (`-12.5`, `1e-5`, `0.00012`, `1.5e300`) as its sign, significant
/// digits without leading or trailing zeros (`"0"` for zero), and the decimal exponent
/// of the first digit.
fn decompose(literal: &str) -> (bool, String, i32) {
    let (negative, unsigned) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    let leading = all.bytes().take_while(|b| *b == b'0').count();
    let digits = all[leading..].trim_end_matches('0');
    if digits.is_empty() {
        return (negative, "0".to_owned(), 0);
    }
    let first = exp + int.len() as i32 - 1 - leading as i32;
    (negative, digits.to_owned(), first)
}

/// A JSON string with `ensure_ascii=True`: everything outside printable ASCII becomes
/// `\uXXXX` (lowercase hex, surrogate pairs above U+FFFF).
pub(crate) fn write_str(s: &str, out: &mut impl Sink) {
    out.put(b"\"");
    let bytes = s.as_bytes();
    // Printable ASCII other than `"` and `\` is copied in runs, found eight bytes at a
    // time; anything else is escaped, a non-ASCII character as its UTF-16 `\uXXXX` units.
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes.get(i..i + BLOCK) {
            if block_is_plain(block) {
                i += BLOCK;
                continue;
            }
        } else if let Some(last) = bytes.len().checked_sub(BLOCK).map(|at| &bytes[at..]) {
            // The tail, as the last whole block: it may overlap bytes already passed,
            // which only ever makes it fall back to the finer scans below.
            if block_is_plain(last) {
                i = bytes.len();
                continue;
            }
        }
        if let Some(chunk) = bytes.get(i..i + 8) {
            if all_plain(word(chunk)) {
                i += 8;
                continue;
            }
        } else if let Some(at) = bytes.len().checked_sub(8) {
            // The tail, as the last eight bytes (overlapping, as above).
            if all_plain(word(&bytes[at..])) {
                i = bytes.len();
                continue;
            }
        } else {
            // A string shorter than eight bytes, padded with plain spaces.
            let mut padded = [b' '; 8];
            padded[..bytes.len() - i].copy_from_slice(&bytes[i..]);
            if all_plain(u64::from_le_bytes(padded)) {
                i = bytes.len();
                continue;
            }
        }
        let b = bytes[i];
        if is_plain(b) {
            i += 1;
            continue;
        }
        out.put(&bytes[plain_from..i]);
        if b.is_ascii() {
            match b {
                b'"' => out.put(b"\\\""),
                b'\\' => out.put(b"\\\\"),
                b'\n' => out.put(b"\\n"),
                b'\r' => out.put(b"\\r"),
                b'\t' => out.put(b"\\t"),
                0x08 => out.put(b"\\b"),
                0x0c => out.put(b"\\f"),
                _ => out.put(&hex_escape(u16::from(b))),
            }
            i += 1;
        } else {
            // `i` is a character boundary: the scan steps over whole characters.
            let Some(ch) = s[i..].chars().next() else {
                break;
            };
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.put(&hex_escape(*unit));
            }
            i += ch.len_utf8();
        }
        plain_from = i;
    }
    out.put(&bytes[plain_from..]);
    out.put(b"\"");
}

/// Bytes checked at once by [`block_is_plain`].
const BLOCK: usize = 32;

/// Whether every byte of a [`BLOCK`]-byte slice is [plain](is_plain). Written without
/// branches, so that the compiler checks the block with vector instructions.
#[inline(always)]
fn block_is_plain(block: &[u8]) -> bool {
    let Ok(block): Result<&[u8; BLOCK], _> = block.try_into() else {
        return false;
    };
    let mut escaped = false;
    for &b in block {
        escaped |= !(0x20..0x7f).contains(&b) | (b == b'"') | (b == b'\\');
    }
    !escaped
}

/// A byte `ensure_ascii` copies as it is.
fn is_plain(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'
}

/// Eight bytes as one little-endian word (`chunk` is eight bytes long).
#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))
}

/// Whether all eight bytes of `word` are [plain](is_plain), with the classic
/// bit tricks: a byte below 0x20, equal to `"`, `\` or 0x7f, or with its high bit set
/// leaves a high bit in the result. Exact for "is there any such byte".
fn all_plain(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let special = has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
        | has_zero(word ^ (ONES * 0x7f));
    (below_space | special | (word & HIGH)) == 0
}

fn hex_escape(unit: u16) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nibble = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    [b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dumps(v: &Value) -> String {
        let mut out = Vec::new();
        write_value(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    #[allow(clippy::excessive_precision)] // exact ties are the point
    fn floats_print_like_python_repr() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e300, "1.5e+300"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            // An exact tie between two shortest forms: CPython picks the even digit.
            (-2941894096113.03125, "-2941894096113.0312"),
            (0.0, "0.0"),
            (100.0, "100.0"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "repr of {value:e}");
        }
    }

    #[test]
    fn separators_sorting_and_nesting() {
        let v = json!({"b": [1, {"z": null, "a": true}], "a": {}, "c": []});
        assert_eq!(
            dumps(&v),
            r#"{"a": {}, "b": [1, {"a": true, "z": null}], "c": []}"#
        );
    }

    #[test]
    fn strings_use_ensure_ascii_escapes() {
        let v = json!("q\"\\\n\r\t\u{8}\u{c}\u{1}\u{7f}é😀~ ");
        assert_eq!(
            dumps(&v),
            r#""q\"\\\n\r\t\b\f\u0001\u007f\u00e9\ud83d\ude00~ ""#
        );
    }

    #[test]
    fn word_scan_agrees_with_byte_scan() {
        // Every byte value at every position of a word, among plain neighbours.
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = b;
                assert_eq!(
                    all_plain(u64::from_le_bytes(word)),
                    word.iter().all(|b| is_plain(*b)),
                    "byte {b:#04x} at {at}"
                );
            }
        }
        // Words mixing the bytes at the edges of each class, in every combination a
        // small generator reaches.
        let edges = [
            0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xff,
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let word: [u8; 8] =
                std::array::from_fn(|k| edges[((state >> (k * 6)) % edges.len() as u64) as usize]);
            assert_eq!(
                all_plain(u64::from_le_bytes(word)),
                word.iter().all(|b| is_plain(*b)),
                "{word:02x?}"
            );
        }
        // Every special byte at the end of long plain runs, and split across words
        // and blocks.
        // Short strings (the padded and overlapping tails) with the special byte at
        // every position.
        let short = (0..12).flat_map(|before| (0..12).map(move |after| (before, after)));
        let long = (0..100).map(|len| (len, len % 9));
        for (before, after) in short.chain(long) {
            for special in ["\"", "\\", "\n", "\u{7f}", "é", "\u{1f}", ""] {
                let s = format!("{}{special}{}", "x".repeat(before), "y".repeat(after));
                let mut fast = Vec::new();
                write_str(&s, &mut fast);
                let expected: String = std::iter::once("\"".to_owned())
                    .chain(s.chars().map(|c| match c {
                        '"' => "\\\"".to_owned(),
                        '\\' => "\\\\".to_owned(),
                        '\n' => "\\n".to_owned(),
                        ' '..='~' => c.to_string(),
                        _ => format!("\\u{:04x}", u32::from(c)),
                    }))
                    .chain(std::iter::once("\"".to_owned()))
                    .collect();
                assert_eq!(String::from_utf8(fast).unwrap(), expected, "{s:?}");
            }
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let mut v = json!(0);
        for _ in 0..100_000 {
            v = Value::Array(vec![v]);
        }
        let text = dumps(&v);
        assert_eq!(text.len(), 200_001);
        // Dropping a value this deep recurses inside serde_json; unwind it by hand.
        let mut cur = v;
        while let Value::Array(mut items) = cur {
            cur = items.pop().unwrap_or(Value::Null);
        }
    }
}
