//! `scan::jslex::lex` never panics; comment spans are in bounds, ordered, non-overlapping and
//! start with `//` or `/*`; an unterminated block comment runs to the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapvault::scan::jslex;
use mapvault::scan::pattern::line_terminator_len;

fuzz_target!(|data: &[u8]| {
    let out = jslex::lex(data);
    // The JSX flavour only changes the depth estimate, never the comments, and only upward.
    let jsx = jslex::lex_with(data, true);
    assert_eq!(jsx.comments, out.comments);
    assert!(jsx.depth_estimate >= out.depth_estimate);
    let mut prev_end = 0;
    for c in &out.comments {
        assert!(
            c.span.start < c.span.end && c.span.end <= data.len(),
            "{:?} out of bounds",
            c.span
        );
        assert!(c.span.start >= prev_end, "{:?} overlaps", c.span);
        prev_end = c.span.end;
        let t = &data[c.span.clone()];
        let opener: &[u8] = if c.block { b"/*" } else { b"//" };
        assert!(
            t.starts_with(opener),
            "{:?} does not start with its opener",
            c.span
        );
        if !c.block {
            assert!((0..t.len()).all(|k| line_terminator_len(t, k) == 0));
        } else if !(t.len() >= 4 && t.ends_with(b"*/")) {
            // Unterminated: must run to the end and say the input was incomplete.
            assert_eq!(c.span.end, data.len());
            assert!(!out.complete);
        }
    }
});
