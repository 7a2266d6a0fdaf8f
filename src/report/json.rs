//! JSON renderers: exactly one JSON object on stdout, nothing else.

use std::io::{self, Write};

use serde::Serialize;

/// Write `value` as one line of JSON.
pub fn write<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}
