//! JSON renderers: exactly one JSON object on stdout, nothing else.

use std::io::{self, Write};

use serde::Serialize;

/// Write `value` as one line of JSON.
pub fn write<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    // `From` keeps an I/O error's kind: a closed stdout stays `BrokenPipe`, which the caller
    // treats as a quiet end (`report::ignore_broken_pipe`).
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()
}
