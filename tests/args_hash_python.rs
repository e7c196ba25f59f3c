//! `args_hash` agrees byte for byte with CPython's
//! `hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]`
//! over a seeded corpus of JSON values that stresses every printing rule.
#![cfg(feature = "args-hash")]

use serde_json::{Map, Number, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const CORPUS: usize = 5000;

const PYTHON: &str = r#"
import hashlib, json, sys
for line in sys.stdin:
    value = json.loads(line)
    text = json.dumps(value, sort_keys=True)
    print(hashlib.sha256(text.encode()).hexdigest()[:16])
"#;

/// xorshift64*: a tiny seeded generator, so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn string(rng: &mut Rng) -> String {
    const INTERESTING: &[char] = &[
        '"',
        '\\',
        '/',
        '\n',
        '\r',
        '\t',
        '\u{8}',
        '\u{c}',
        '\u{0}',
        '\u{1f}',
        '\u{7f}',
        '\u{80}',
        'é',
        'ß',
        '中',
        '\u{2028}',
        '\u{fffd}',
        '\u{ffff}',
        '😀',
        '\u{10ffff}',
        '\u{1d11e}',
        ' ',
        '~',
    ];
    let len = rng.below(12);
    (0..len)
        .map(|_| match rng.below(4) {
            0 => INTERESTING[rng.below(INTERESTING.len() as u64) as usize],
            1 => char::from_u32(rng.below(0x80) as u32).unwrap(),
            2 => char::from_u32(0x20 + rng.below(0x5f) as u32).unwrap(),
            _ => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('x'),
        })
        .collect()
}

fn float(rng: &mut Rng) -> f64 {
    const EDGES: &[f64] = &[
        0.0,
        -0.0,
        1.0,
        0.1,
        1e-5,
        1e-4,
        1.5e300,
        1e16,
        1e15,
        123456789.0,
        5e-324,
        1.7976931348623157e308,
        -2.5e-7,
        0.30000000000000004,
        9007199254740993.0,
    ];
    match rng.below(3) {
        0 => EDGES[rng.below(EDGES.len() as u64) as usize],
        1 => (rng.next() as i64 as f64) / 1e6,
        _ => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() { f } else { 2.5 }
        }
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    let kinds = if depth >= 4 { 6 } else { 8 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::from(rng.next() as i64 >> rng.below(64)),
        3 => Value::from(match rng.below(3) {
            0 => u64::MAX,
            1 => i64::MIN as u64,
            _ => rng.next(),
        }),
        4 => Value::Number(Number::from_f64(float(rng)).unwrap()),
        5 => Value::String(string(rng)),
        6 => Value::Array((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(6) {
                map.insert(string(rng), value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

#[test]
fn matches_cpython_on_a_generated_corpus() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let corpus: Vec<Value> = (0..CORPUS).map(|_| value(&mut rng, 0)).collect();
    let child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "\n!!!! SKIPPED: python3 is not available ({error}); the cross-language hash check did not run !!!!\n"
            );
            return;
        }
    };
    let mut input = String::new();
    for v in &corpus {
        input.push_str(&serde_json::to_string(v).unwrap());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 ran");
    writer.join().unwrap().expect("corpus written");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: Vec<&str> = std::str::from_utf8(&output.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(expected.len(), CORPUS);
    for (v, want) in corpus.iter().zip(expected) {
        assert_eq!(mcp_trace::args_hash(v), want, "hash differs for {v}");
    }
}
