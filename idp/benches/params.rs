//! Parameter parsing speed: `cargo bench -p idp --bench params`.
//!
//! Prints the median time to parse a small authorization request, 54 KB of one name
//! repeated, and 54 KB of distinct names each sent twice, with the parser of base
//! commit 4c53ab3 ("before": a linear search of a list per repeated name, so
//! quadratic) and the current [`idp::oauth::params::Params`] ("after": hash maps and
//! the cap of 100 parameters). Figures only; nothing here asserts a speed.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use idp::oauth::params::Params;

/// The parser as it was at 4c53ab3, kept verbatim for the comparison.
#[derive(Default)]
struct Before {
    values: HashMap<String, String>,
    repeated: Vec<String>,
    oversized: Vec<String>,
}

fn parse_before(input: &[u8], max_value_bytes: usize) -> Before {
    let mut params = Before::default();
    for (name, value) in form_urlencoded::parse(input) {
        if params.values.contains_key(name.as_ref())
            || params.repeated.iter().any(|r| r == name.as_ref())
            || params.oversized.iter().any(|r| r == name.as_ref())
        {
            if !params.repeated.iter().any(|r| r == name.as_ref()) {
                params.repeated.push(name.to_string());
            }
            params.values.remove(name.as_ref());
            continue;
        }
        if value.is_empty() {
            continue;
        }
        if value.len() > max_value_bytes
            || name.len() > 128
            || value.contains('\0')
            || value.contains('\u{FFFD}')
            || name.contains('\u{FFFD}')
        {
            params.oversized.push(name.to_string());
            continue;
        }
        params.values.insert(name.into_owned(), value.into_owned());
    }
    params
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut runs: Vec<Duration> = (0..31)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let small = "response_type=code&client_id=portal&redirect_uri=https%3A%2F%2Fportal.example.com%2Fcb\
                 &scope=openid+profile+email&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj\
                 &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        .to_owned();
    let mut repeated = String::new();
    while repeated.len() < 54_000 {
        repeated.push_str("a=1&");
    }
    let mut distinct = String::new();
    let mut i = 0;
    while distinct.len() < 54_000 {
        distinct.push_str(&format!("p{i}=1&p{i}=2&"));
        i += 1;
    }
    println!("{:<28} {:>12} {:>12}", "input", "before", "after");
    for (label, input) in [
        ("small (8 parameters)", &small),
        ("54 KB, one name repeated", &repeated),
        ("54 KB, distinct names x2", &distinct),
    ] {
        let before = median(|| {
            black_box(parse_before(black_box(input.as_bytes()), 4096));
        });
        let after = median(|| {
            black_box(Params::parse_limited(
                black_box(input.as_bytes()),
                4096,
                100,
            ));
        });
        println!("{label:<28} {before:>12.2?} {after:>12.2?}");
    }
    // Without the cap the new parser is still linear: the same inputs, no limit.
    for (label, input) in [
        ("54 KB repeated, no cap", &repeated),
        ("54 KB distinct x2, no cap", &distinct),
    ] {
        let after = median(|| {
            black_box(Params::parse_limited(
                black_box(input.as_bytes()),
                4096,
                usize::MAX,
            ));
        });
        println!("{label:<28} {:>12} {after:>12.2?}", "");
    }
}
