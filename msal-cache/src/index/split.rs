//! The top-level scan of the two-thread load ([`super::load`]): where each top-level member's
//! key and value start and end, so that whole sections can be parsed on two threads.
//!
//! It has to be right for valid JSON only; on anything else it may stop (`None`) or cut wrongly,
//! which the parse of each piece then rejects (and the load falls back to one thread, which words
//! the error). Strings are skipped with memchr, so the scan costs a small part of the parse it
//! splits. A JSON parser cannot do this job: serde_json would parse the whole document to find
//! where a member ends, which is the work the scan exists to share out.

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string whose opening quote is at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[j] == b'\\' {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// The end of the object or array that opens at `i`, by counting its brackets outside strings.
fn container_end(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = if b.get(i)? == &b'{' {
        (b'{', b'}')
    } else {
        (b'[', b']')
    };
    let (mut depth, mut j) = (0usize, i);
    loop {
        j += memchr::memchr3(b'"', open, close, b.get(j..)?)?;
        match b[j] {
            b'"' => j = string_end(b, j)?,
            c if c == open => {
                depth += 1;
                j += 1;
            }
            _ => {
                depth = depth.checked_sub(1)?;
                j += 1;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
    }
}

/// The top-level members as (key with its quotes, value) pieces of `b`.
pub(super) fn split_top_level(b: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i)?;
            let key = &b[i..key_end];
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let value_end = match b.get(i)? {
                b'{' | b'[' => container_end(b, i)?,
                b'"' => string_end(b, i)?,
                _ => {
                    let mut j = i;
                    while !matches!(
                        b.get(j),
                        None | Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                    ) {
                        j += 1;
                    }
                    j
                }
            };
            members.push((key, b.get(i..value_end)?));
            i = skip_ws(b, value_end);
            match b.get(i)? {
                b',' => i = skip_ws(b, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(members)
}
