//! Reading a source map for position lookups, answering what Mozilla `source-map` 0.7.6
//! (`SourceMapConsumer.originalPositionFor`, the library Firefox's devtools use) answers, with
//! memory bounded by the map itself. `resolve` uses it; nothing here does I/O.
//!
//! Why not the `sourcemap` crate: it decodes every mapping up front (a 100 MB map costs several
//! times that), wraps a negative original line to 4294967295, reads a non-base64 character as
//! `/`, takes the first of several segments at one column, and rejects a whole map for one odd
//! optional field. Here the map's bytes are kept as they are, every value is read from them
//! when it is needed, and each rule below is Mozilla's, checked by a property test against it
//! (`tests/it/resolve.rs`).
//!
//! **Fields.** `version` must be 3 (or `"3"`, which Mozilla's loose `==` takes); `sources` must
//! be an array and `mappings` a string; `sections` (not null) makes an index map. Everything
//! else is optional and never fails a map: a `names`, `sourcesContent` or `sourceRoot` of the
//! wrong type is ignored (ECMA-426 `GetOptional…`), as are `ignoreList`, `debugId`, `file` and
//! unknown fields. Strings are decoded as JavaScript would (a lone surrogate, which JSON allows,
//! becomes U+FFFD). Duplicate keys: the last wins, as in `JSON.parse`.
//!
//! **Mappings.** Validated whole, the first time a position in that (sub)map is asked for,
//! with Mozilla's rules (its `source-map-mappings` crate): a character outside the base64
//! alphabet, a VLQ cut short, a value that goes negative or past 2^32 − 1 make every position
//! of the map `bad-map`. A source or name index past the end of its list fails only the
//! positions that land on it (Mozilla throws there). Segments of 2 or 3 fields are errors; a
//! sixth field starts the next segment without a comma, as in Mozilla.
//!
//! **Lookup.** On each generated line the segments are ordered by column, then by original
//! position (source, line, column, name; a segment without a source after all others); the
//! answer is the *last* segment at the greatest column ≤ the one asked for, on that line only.
//! That is where Mozilla's binary search lands (its wasm was built with the `binary_search_by`
//! of Rust before 1.52, which finds the last equal element). A segment without a source maps
//! nothing.
//!
//! **Index maps.** Sections are found with Mozilla's own binary search, quirks included: at the
//! exact offset shared by several sections the probe order decides, past it the last one wins.
//! Each section is a complete map (or index map) checked when the index map is read; its
//! mappings are validated only when a position falls in it, as Mozilla does.
//!
//! **Sources.** Joined to `sourceRoot` as Mozilla joins them (a `/` between them, a leading `/`
//! of the source dropped, a source with a scheme or `//` left alone), but not normalized: `.`
//! and `..` segments and percent-escapes stay as the map writes them. A `null` source (or
//! anything else that is not a string) is an unknown source, as ECMA-426 says; Mozilla prints
//! it as the text `null`.
//!
//! **Differences from Mozilla**, all where it turns garbage into an answer: a non-ASCII
//! character in `mappings` is refused (Mozilla keeps the low 8 bits of each UTF-16 unit, so
//! `Ł` reads as `A`); a non-string `sources` entry is an unknown source and a non-string name no
//! name (Mozilla prints `String(value)`); a `names` that is not an array is ignored (Mozilla
//! fails the map); a section offset that is not a non-negative integer fails the map.
//!
//! **Bounded output.** Source names and names are cut at [`TEXT_CAP`] characters, and the
//! source line from `sourcesContent` is a window of [`LINE_WINDOW`] UTF-16 units around the
//! column: a hostile or minified map never makes one answer large.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Longest source name or name returned, in characters (`…` marks a cut).
pub const TEXT_CAP: usize = 2048;
/// Width of the source line returned, in UTF-16 units: a longer line is cut to this many units
/// around the column.
pub const LINE_WINDOW: u32 = 400;
/// Units of the window before the column (when the line allows).
const WINDOW_BEFORE: u32 = 150;
/// Deepest nesting of index maps followed.
const MAX_DEPTH: usize = 16;
/// Decoded segments (lines, and chunks of long lines) kept per map for later lookups, beyond
/// the ones just decoded: 24 MiB.
const LINE_CACHE_SEGMENTS: usize = 1 << 20;
/// A generated line with more segments than this (a minified bundle is one line) gets marks
/// every [`SEGMENT_MARK`] segments (about 6% of the map's size), so a lookup decodes a chunk
/// or two of it instead of all of it.
const LONG_LINE: usize = 1024;
const SEGMENT_MARK: usize = 64;
/// Bytes of a `sourcesContent` string between two marks of its index (16 bytes of index per
/// mark: 1.6% of the text).
const TEXT_MARK: usize = 1024;

/// A map, parsed enough to answer lookups: its text and where each field is in it.
pub struct Map {
    text: String,
    body: Body,
}

enum Body {
    Regular(Box<Regular>),
    Index(Vec<Section>),
}

struct Section {
    line: u32,
    column: u32,
    body: Body,
}

struct Regular {
    /// Raw JSON string contents (escapes intact) of each `sources` entry; `None` when it is not
    /// a string.
    sources: Vec<Option<Range<usize>>>,
    names: Vec<Option<Range<usize>>>,
    contents: Vec<Option<Range<usize>>>,
    source_root: Option<String>,
    /// The `mappings` string: a range of the text, or its decoded bytes when it held escapes.
    mappings: MappingsText,
    /// Filled on the first lookup: the validation result and the line index.
    index: Option<Result<Lines, String>>,
    /// Line indexes of `sourcesContent` entries, built when a line of them is first shown.
    content_index: HashMap<usize, TextIndex>,
}

enum MappingsText {
    Raw(Range<usize>),
    Decoded(Vec<u8>),
}

/// Where a position maps to (0-based line and column, as in the map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `None` for an unknown source (`null` in `sources`).
    pub source: Option<String>,
    pub line: u32,
    pub column: u32,
    pub name: Option<String>,
    pub source_line: Option<Window>,
}

/// Part of an original source line: all of it when it is at most [`LINE_WINDOW`] units long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub text: String,
    /// 0-based UTF-16 column of the first character of `text`.
    pub start: u32,
    /// The line goes on after `text` (it goes on before it when `start > 0`).
    pub cut_after: bool,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The map (or the section the position falls in) is invalid.
    BadMap(String),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::BadMap(s) => f.write_str(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON: the top-level object as a list of (key, raw value), so the map's text is never copied.

struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Fields<'a> {
    /// The value of `key` (the last one, as `JSON.parse` keeps).
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind(v: &RawValue) -> Kind {
    match v.get().as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

fn items(v: &RawValue) -> Option<Vec<&RawValue>> {
    (kind(v) == Kind::Array)
        .then(|| serde_json::from_str::<Vec<&RawValue>>(v.get()).ok())
        .flatten()
}

/// Where the contents of a JSON string value are in `text` (between its quotes).
fn string_range(text: &str, v: &RawValue) -> Option<Range<usize>> {
    if kind(v) != Kind::String {
        return None;
    }
    let raw = v.get();
    let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)? + 1;
    let end = start + raw.len().checked_sub(2)?;
    text.get(start..end).map(|_| start..end)
}

/// One character of a JSON string's raw text: the character and its length in UTF-16 units.
/// A lone surrogate escape becomes U+FFFD (one unit, as it was), as `TextEncoder` writes it.
struct JsonChars<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> JsonChars<'a> {
    fn new(s: &'a str) -> Self {
        JsonChars { s, at: 0 }
    }

    fn hex4(&self, from: usize) -> Option<u32> {
        let h = self.s.get(from..from + 4)?;
        u32::from_str_radix(h, 16).ok()
    }
}

impl Iterator for JsonChars<'_> {
    type Item = (char, u8);

    fn next(&mut self) -> Option<(char, u8)> {
        let rest = self.s.get(self.at..)?;
        let c = rest.chars().next()?;
        if c != '\\' {
            self.at += c.len_utf8();
            return Some((c, c.len_utf16() as u8));
        }
        let esc = rest.as_bytes().get(1).copied().unwrap_or(b'\\');
        let simple = match esc {
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'/' => Some('/'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            _ => None,
        };
        if let Some(c) = simple {
            self.at += 2;
            return Some((c, 1));
        }
        // serde_json checked the syntax; anything malformed still never panics.
        let Some(u) = (esc == b'u').then(|| self.hex4(self.at + 2)).flatten() else {
            self.at += 1;
            return Some(('\u{fffd}', 1));
        };
        self.at += 6;
        if (0xd800..0xdc00).contains(&u)
            && self.s.get(self.at..self.at + 2) == Some("\\u")
            && let Some(lo) = self.hex4(self.at + 2)
            && (0xdc00..0xe000).contains(&lo)
        {
            self.at += 6;
            let c = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            return Some((char::from_u32(c).unwrap_or('\u{fffd}'), 2));
        }
        Some((char::from_u32(u).unwrap_or('\u{fffd}'), 1))
    }
}

/// Decode a JSON string's raw text, keeping at most [`TEXT_CAP`] characters (then `…`).
fn decode_capped(raw: &str) -> String {
    let mut out = String::new();
    for (n, (c, _)) in JsonChars::new(raw).enumerate() {
        if n == TEXT_CAP {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing the map's structure.

fn bad<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

/// `version` as Mozilla checks it: `version != 3`, loosely, so `"3"` passes.
fn version_ok(v: Option<&RawValue>) -> Result<(), String> {
    let Some(v) = v else {
        return bad("it has no \"version\"");
    };
    let text = match kind(v) {
        Kind::Number => v.get(),
        Kind::String => v.get().trim_matches('"').trim(),
        _ => "",
    };
    if text.parse::<f64>().ok() == Some(3.0) {
        Ok(())
    } else {
        bad(format!(
            "\"version\" is {}, not 3",
            crate::sanitize::truncate(v.get(), 40)
        ))
    }
}

fn parse_body(text: &str, json: &str, depth: usize) -> Result<Body, String> {
    if depth > MAX_DEPTH {
        return bad(format!("index maps nest deeper than {MAX_DEPTH} levels"));
    }
    let fields: Fields<'_> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON object: {e}"))?;
    if let Some(s) = fields.get("sections").filter(|s| kind(s) != Kind::Null) {
        version_ok(fields.get("version"))?;
        let Some(list) = items(s) else {
            return bad("\"sections\" is not an array");
        };
        let mut sections = Vec::with_capacity(list.len());
        // Mozilla: offsets must not go backwards (equal ones are allowed).
        let mut last = (-1i64, 0i64);
        for (i, s) in list.into_iter().enumerate() {
            let at = |what: &str| format!("section {i}: {what}");
            let sf: Fields<'_> = serde_json::from_str(s.get()).map_err(|_| at("not an object"))?;
            if sf.get("url").is_some_and(|u| kind(u) != Kind::Null) {
                return Err(at(
                    "\"url\" sections are not supported (Mozilla refuses them too)",
                ));
            }
            let offset = sf.get("offset").ok_or_else(|| at("no \"offset\""))?;
            let of: Fields<'_> = serde_json::from_str(offset.get())
                .map_err(|_| at("\"offset\" is not an object"))?;
            let num = |k: &str| -> Result<u32, String> {
                of.get(k)
                    .and_then(|v| v.get().parse::<u32>().ok())
                    .ok_or_else(|| at(&format!("offset {k} is not a non-negative integer")))
            };
            let (line, column) = (num("line")?, num("column")?);
            if (i64::from(line), i64::from(column)) < last {
                return Err(at("offsets go backwards (sections must be in order)"));
            }
            last = (i64::from(line), i64::from(column));
            let map = sf.get("map").ok_or_else(|| at("no \"map\""))?;
            if kind(map) != Kind::Object {
                return Err(at("\"map\" is not an object"));
            }
            let body = parse_body(text, map.get(), depth + 1).map_err(|e| at(&e))?;
            sections.push(Section { line, column, body });
        }
        return Ok(Body::Index(sections));
    }
    version_ok(fields.get("version"))?;
    let sources = match fields.get("sources").map(items) {
        Some(Some(list)) => list.into_iter().map(|v| string_range(text, v)).collect(),
        Some(None) => return bad("\"sources\" is not an array"),
        None => return bad("it has no \"sources\""),
    };
    let strings = |key: &str| -> Vec<Option<Range<usize>>> {
        fields
            .get(key)
            .and_then(items)
            .map(|list| list.into_iter().map(|v| string_range(text, v)).collect())
            .unwrap_or_default()
    };
    let mappings = match fields.get("mappings") {
        Some(m) if kind(m) == Kind::String => {
            let r = string_range(text, m).ok_or("\"mappings\" is not a string")?;
            let raw = &text[r.clone()];
            if raw.contains('\\') {
                // Escapes in `mappings` are legal JSON: decode them (one byte per character;
                // anything beyond ASCII is refused when validating).
                MappingsText::Decoded(
                    JsonChars::new(raw)
                        .map(|(c, _)| u8::try_from(c).unwrap_or(0xff))
                        .collect(),
                )
            } else {
                MappingsText::Raw(r)
            }
        }
        Some(_) => return bad("\"mappings\" is not a string"),
        None => return bad("it has no \"mappings\""),
    };
    let source_root = fields
        .get("sourceRoot")
        .and_then(|v| string_range(text, v))
        .map(|r| decode_capped(&text[r]))
        .filter(|r| !r.is_empty());
    Ok(Body::Regular(Box::new(Regular {
        sources,
        names: strings("names"),
        contents: strings("sourcesContent"),
        source_root,
        mappings,
        index: None,
        content_index: HashMap::new(),
    })))
}

impl Map {
    /// Parse a map's bytes (a UTF-8 BOM and the `)]}'` first line are skipped; invalid UTF-8 is
    /// read as U+FFFD, as `fs.readFileSync(…, "utf8")` reads it). The error says why the map
    /// cannot be used at all.
    pub fn parse(bytes: Vec<u8>) -> Result<Map, String> {
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let skip = crate::scan::mapsniff::json_start(text.as_bytes())
            .map(|j| text.len() - j.len())
            .ok_or("not a JSON object")?;
        let body = parse_body(&text, &text[skip..], 0)?;
        Ok(Map { text, body })
    }

    /// The original position of generated `line`, `column` (0-based), like Mozilla's
    /// `originalPositionFor`: `Ok(None)` when nothing maps there.
    pub fn lookup(&mut self, line: u32, column: u32) -> Result<Option<Found>, LookupError> {
        lookup_body(&self.text, &mut self.body, line, column).map_err(LookupError::BadMap)
    }
}

/// Mozilla's `binarySearch.search` over index-map sections (greatest lower bound), kept
/// exactly: its recursion decides which of several sections at one offset is used. (Its final
/// walk back over equal elements never moves: it compares two sections with a comparator
/// written for a position, which gives NaN.)
fn find_section(sections: &[Section], line: u32, column: u32) -> Option<usize> {
    let cmp = |s: &Section| (line, column).cmp(&(s.line, s.column));
    let (mut low, mut high) = (-1i64, sections.len() as i64);
    if high == 0 {
        return None;
    }
    loop {
        let mid = (high - low) / 2 + low;
        let s = &sections[usize::try_from(mid).ok()?];
        match cmp(s) {
            std::cmp::Ordering::Equal => return usize::try_from(mid).ok(),
            std::cmp::Ordering::Greater => {
                if high - mid > 1 {
                    low = mid;
                } else {
                    return usize::try_from(mid).ok();
                }
            }
            std::cmp::Ordering::Less => {
                if mid - low > 1 {
                    high = mid;
                } else {
                    return usize::try_from(low).ok();
                }
            }
        }
    }
}

fn lookup_body(
    text: &str,
    body: &mut Body,
    line: u32,
    column: u32,
) -> Result<Option<Found>, String> {
    match body {
        Body::Index(sections) => {
            let Some(i) = find_section(sections, line, column) else {
                return Ok(None);
            };
            let s = &mut sections[i];
            // The search never returns a section after the position.
            let column = if line == s.line {
                column.saturating_sub(s.column)
            } else {
                column
            };
            lookup_body(text, &mut s.body, line.saturating_sub(s.line), column)
                .map_err(|e| format!("section {i}: {e}"))
        }
        Body::Regular(r) => r.lookup(text, line, column),
    }
}

// ---------------------------------------------------------------------------------------------
// Mappings: validation, line index, per-line decoding.

/// One decoded segment. `source == NONE` for a segment without an original position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    column: u32,
    has_orig: bool,
    source: u32,
    line: u32,
    orig_column: u32,
    has_name: bool,
    name: u32,
}

impl Segment {
    /// Mozilla's order within a generated line (`ByGeneratedTail`): column, then the original
    /// position with a missing one last, names compared as `Option` (none first).
    fn order(&self, o: &Segment) -> std::cmp::Ordering {
        self.column
            .cmp(&o.column)
            .then_with(|| match (self.has_orig, o.has_orig) {
                (false, false) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Less,
                (false, true) => std::cmp::Ordering::Greater,
                (true, true) => (self.source, self.line, self.orig_column)
                    .cmp(&(o.source, o.line, o.orig_column))
                    .then((self.has_name, self.name).cmp(&(o.has_name, o.name))),
            })
    }
}

/// The running values a line starts with (all fields but the generated column carry over).
#[derive(Debug, Clone, Copy, Default)]
struct State {
    source: u32,
    line: u32,
    column: u32,
    name: u32,
}

/// A place in `mappings` to start decoding from: the start of generated line `line`, after
/// `before` segments.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    line: u32,
    offset: usize,
    state: State,
    before: u64,
}

/// What validating `mappings` leaves: sparse line starts, marks inside long lines, and
/// decoded segments kept for reuse.
struct Lines {
    /// A checkpoint at least every 64 lines or 4 KiB of text, so reaching any line from the
    /// one before it decodes at most that much.
    checkpoints: Vec<Checkpoint>,
    /// Lines of more than [`LONG_LINE`] segments.
    long: HashMap<u32, LongLine>,
    /// Number of generated lines (`;` + 1).
    count: u32,
    /// Number of segments in the whole map (Mozilla searches them all at once).
    total: u64,
    /// Decoded lines (segments before the line, its segments in Mozilla's order) and chunks
    /// of long lines (in the order written), least recently used dropped first.
    cache: HashMap<CacheKey, (u64, Vec<Segment>)>,
    order: VecDeque<CacheKey>,
    cached_segments: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CacheKey {
    Line(u32),
    Chunk(u32, usize),
}

/// The start of every [`SEGMENT_MARK`]-th segment of a long line.
#[derive(Debug, Clone, Copy)]
struct SegmentMark {
    offset: usize,
    /// The generated column before this segment (its delta is relative to it).
    column_before: u32,
    /// This segment's generated column: on a sorted line the chunk from this mark to the
    /// next holds only columns between theirs, so most probes need no decoding.
    column: u32,
    state: State,
}

struct LongLine {
    /// Columns never decrease along the line (what every bundler writes): then a column is
    /// known from the nearest mark, and Mozilla's order only reorders ties. Otherwise the line
    /// is decoded whole and sorted, as Mozilla sorts it.
    sorted: bool,
    /// Segments before this line, and in it.
    before: u64,
    len: u64,
    marks: Vec<SegmentMark>,
}

/// Rust's `binary_search_by` as Mozilla's wasm has it (the standard library of Rust 1.52 to
/// 1.81): it returns the first probed element that compares equal, so which of several
/// segments at one column is found depends on where the probes fall in the whole map.
fn probe_search(n: u64, mut cmp: impl FnMut(u64) -> std::cmp::Ordering) -> Result<u64, u64> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (mut left, mut right, mut size) = (0u64, n, n);
    while left < right {
        let mid = left + size / 2;
        match cmp(mid) {
            Less => left = mid + 1,
            Greater => right = mid,
            Equal => return Ok(mid),
        }
        size = right - left;
    }
    Err(left)
}

/// Mozilla's `original_location_for` with its default bias (greatest lower bound) over all
/// `total` segments of a map, the line asked for being segments `before .. before + len`, and
/// `cmp_at(j)` comparing the column of its `j`-th segment (in Mozilla's order) with the one
/// asked for: the index in the line of the answer, or `None` when the answer is on another
/// line (which maps nothing).
fn mozilla_pick(
    total: u64,
    before: u64,
    len: u64,
    cmp_at: &mut dyn FnMut(u64) -> std::cmp::Ordering,
) -> Option<u64> {
    use std::cmp::Ordering::{Greater, Less};
    let found = probe_search(total, |i| {
        if i < before {
            Less
        } else if i >= before + len {
            Greater
        } else {
            cmp_at(i - before)
        }
    });
    let r = match found {
        Ok(i) => i,
        Err(0) => return None,
        Err(i) => i - 1,
    };
    (before..before + len).contains(&r).then(|| r - before)
}

fn b64(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn describe_char(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("{:?}", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// A reader over `mappings` that applies Mozilla's rules (`source-map-mappings` 0.5 with
/// `vlq` 0.5.1).
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn at_separator(&self) -> bool {
        matches!(self.peek(), None | Some(b',' | b';'))
    }

    /// One VLQ, as `vlq::decode`: up to 64 bits (bits shifted past them are lost), more than
    /// 13 digits an error.
    fn vlq(&mut self) -> Result<i64, String> {
        let start = self.at;
        let mut accum: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(c) = self.peek() else {
                return bad(format!(
                    "\"mappings\" ends in the middle of a value (at offset {start})"
                ));
            };
            let Some(d) = b64(c) else {
                return bad(format!(
                    "\"mappings\" holds {} at offset {}, which is not base64",
                    describe_char(c),
                    self.at
                ));
            };
            self.at += 1;
            let v = u64::from(d & 31)
                .checked_shl(shift)
                .ok_or_else(|| format!("\"mappings\" has a value too large at offset {start}"))?;
            accum = accum
                .checked_add(v)
                .ok_or_else(|| format!("\"mappings\" has a value too large at offset {start}"))?;
            shift += 5;
            if d & 32 == 0 {
                break;
            }
        }
        let abs = (accum / 2) as i64;
        Ok(if accum & 1 == 1 { -abs } else { abs })
    }

    /// A value relative to `prev`, which must stay within 0 ..= 2^32 − 1.
    fn relative(&mut self, prev: &mut u32, what: &str) -> Result<(), String> {
        let start = self.at;
        let d = self.vlq()?;
        let (v, overflow) = i64::from(*prev).overflowing_add(d);
        if overflow || v > i64::from(u32::MAX) {
            return bad(format!(
                "\"mappings\" makes the {what} larger than 2^32 - 1 (at offset {start})"
            ));
        }
        if v < 0 {
            return bad(format!(
                "\"mappings\" makes the {what} negative (at offset {start})"
            ));
        }
        *prev = v as u32;
        Ok(())
    }

    /// The segment starting here (the cursor is on neither `,` nor `;`).
    fn segment(&mut self, gen_col: &mut u32, st: &mut State) -> Result<Segment, String> {
        self.relative(gen_col, "generated column")?;
        let mut seg = Segment {
            column: *gen_col,
            ..NO_SEGMENT
        };
        if self.at_separator() {
            return Ok(seg);
        }
        self.relative(&mut st.source, "source index")?;
        self.relative(&mut st.line, "original line")?;
        self.relative(&mut st.column, "original column")?;
        seg.has_orig = true;
        (seg.source, seg.line, seg.orig_column) = (st.source, st.line, st.column);
        if !self.at_separator() {
            self.relative(&mut st.name, "name index")?;
            seg.has_name = true;
            seg.name = st.name;
        }
        Ok(seg)
    }
}

/// Decode from `at` (a line start, or a segment of a long line whose generated column before
/// it was `column_before`), handing each segment of that line to `f` until it returns false.
fn walk_line(
    m: &[u8],
    at: usize,
    column_before: u32,
    state: State,
    f: &mut dyn FnMut(&Segment) -> bool,
) {
    let mut c = Cursor { b: m, at };
    let (mut st, mut gen_col) = (state, column_before);
    while let Some(b) = c.peek() {
        match b {
            b';' => break,
            b',' => c.at += 1,
            _ => match c.segment(&mut gen_col, &mut st) {
                Ok(s) if f(&s) => {}
                // Validated already: an error cannot happen; stop rather than loop.
                _ => break,
            },
        }
    }
}

const NO_SEGMENT: Segment = Segment {
    column: u32::MAX,
    has_orig: false,
    source: 0,
    line: 0,
    orig_column: 0,
    has_name: false,
    name: 0,
};

impl Lines {
    /// Validate all of `m` and index its lines.
    fn build(m: &[u8]) -> Result<Lines, String> {
        let mut c = Cursor { b: m, at: 0 };
        let mut st = State::default();
        let mut gen_col = 0u32;
        let mut line = 0u32;
        let mut total = 0u64;
        let mut checkpoints = vec![Checkpoint {
            line: 0,
            offset: 0,
            state: st,
            before: 0,
        }];
        let mut long = HashMap::new();
        // The line being read: where it began (segments), marks, and whether columns grow.
        let (mut line_before, mut marks, mut sorted) = (0u64, Vec::new(), true);
        let mut end_line =
            |line: u32, total: u64, before: u64, marks: &mut Vec<SegmentMark>, sorted: bool| {
                if total - before > LONG_LINE as u64 {
                    long.insert(
                        line,
                        LongLine {
                            sorted,
                            before,
                            len: total - before,
                            marks: std::mem::take(marks),
                        },
                    );
                }
                marks.clear();
            };
        while let Some(b) = c.peek() {
            match b {
                b';' => {
                    end_line(line, total, line_before, &mut marks, sorted);
                    (line_before, sorted) = (total, true);
                    c.at += 1;
                    line = line
                        .checked_add(1)
                        .ok_or("\"mappings\" has more than 2^32 lines")?;
                    gen_col = 0;
                    let last = checkpoints.last().map_or((0, 0), |k| (k.line, k.offset));
                    if line - last.0 >= 64 || c.at - last.1 >= 4096 {
                        checkpoints.push(Checkpoint {
                            line,
                            offset: c.at,
                            state: st,
                            before: total,
                        });
                    }
                }
                b',' => c.at += 1,
                _ => {
                    let (offset, column_before, state) = (c.at, gen_col, st);
                    let s = c.segment(&mut gen_col, &mut st)?;
                    let n = total - line_before;
                    if n.is_multiple_of(SEGMENT_MARK as u64) {
                        marks.push(SegmentMark {
                            offset,
                            column_before,
                            column: s.column,
                            state,
                        });
                    }
                    sorted &= n == 0 || s.column >= column_before;
                    total += 1;
                }
            }
        }
        end_line(line, total, line_before, &mut marks, sorted);
        Ok(Lines {
            checkpoints,
            long,
            count: line + 1,
            total,
            cache: HashMap::new(),
            order: VecDeque::new(),
            cached_segments: 0,
        })
    }

    /// The segment Mozilla answers for `col` on generated line `line`, if it is on that line.
    fn find(&mut self, m: &[u8], line: u32, col: u32) -> Option<Segment> {
        let total = self.total;
        if let Some((before, len)) = self
            .long
            .get(&line)
            .filter(|l| l.sorted)
            .map(|l| (l.before, l.len))
        {
            let j = mozilla_pick(total, before, len, &mut |j| self.long_cmp(m, line, j, col))?;
            return Some(self.long_sorted(m, line, len, j));
        }
        let (before, segs) = self.line(m, line);
        let j = mozilla_pick(total, before, segs.len() as u64, &mut |j| {
            segs.get(j as usize)
                .map_or(std::cmp::Ordering::Greater, |s| s.column.cmp(&col))
        })?;
        segs.get(usize::try_from(j).ok()?).copied()
    }

    /// Keep a decoded line or chunk, within the budget (always the one just decoded).
    fn remember(&mut self, key: CacheKey, before: u64, segs: Vec<Segment>) {
        self.cached_segments += segs.len();
        self.cache.insert(key, (before, segs));
        self.order.push_back(key);
        while self.cached_segments > LINE_CACHE_SEGMENTS && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front()
                && let Some((_, v)) = self.cache.remove(&old)
            {
                self.cached_segments -= v.len();
            }
        }
    }

    /// Generated line `line`: the number of segments before it, and its segments in Mozilla's
    /// order.
    fn line(&mut self, m: &[u8], line: u32) -> (u64, &[Segment]) {
        let key = CacheKey::Line(line);
        if !self.cache.contains_key(&key) {
            let (before, segs) = self.decode(m, line);
            self.remember(key, before, segs);
        }
        self.cache
            .get(&key)
            .map_or((0, &[][..]), |(b, v)| (*b, v.as_slice()))
    }

    /// Segment `j`'s column of long sorted line `line` compared with `col`: from the marks
    /// around it when they settle it, else from its decoded chunk.
    fn long_cmp(&mut self, m: &[u8], line: u32, j: u64, col: u32) -> std::cmp::Ordering {
        use std::cmp::Ordering::{Greater, Less};
        let k = usize::try_from(j / SEGMENT_MARK as u64).unwrap_or(usize::MAX);
        if let Some(l) = self.long.get(&line) {
            let lo = l.marks.get(k).map(|mk| mk.column);
            let hi = l.marks.get(k + 1).map(|mk| mk.column);
            if lo.is_some_and(|lo| col < lo) {
                return Greater;
            }
            if hi.is_some_and(|hi| col > hi) {
                return Less;
            }
        }
        self.long_segment(m, line, j).column.cmp(&col)
    }

    /// Chunk `k` of long line `line` (segments `k * SEGMENT_MARK ..`, in the order written),
    /// decoded on first use.
    fn chunk(&mut self, m: &[u8], line: u32, k: usize) -> &[Segment] {
        let key = CacheKey::Chunk(line, k);
        if !self.cache.contains_key(&key) {
            let mut segs = Vec::with_capacity(SEGMENT_MARK);
            if let Some(mk) = self.long.get(&line).and_then(|l| l.marks.get(k)) {
                walk_line(m, mk.offset, mk.column_before, mk.state, &mut |s| {
                    segs.push(*s);
                    segs.len() < SEGMENT_MARK
                });
            }
            self.remember(key, 0, segs);
        }
        self.cache.get(&key).map_or(&[][..], |(_, v)| v.as_slice())
    }

    /// Segment `j` of long line `line`, in the order written (its columns never decrease).
    fn long_segment(&mut self, m: &[u8], line: u32, j: u64) -> Segment {
        let k = usize::try_from(j / SEGMENT_MARK as u64).unwrap_or(usize::MAX);
        let i = (j % SEGMENT_MARK as u64) as usize;
        self.chunk(m, line, k).get(i).copied().unwrap_or(NO_SEGMENT)
    }

    /// Segment `j` of long sorted line `line` in Mozilla's order: the segments of its column
    /// (a run, since columns never decrease), sorted as Mozilla sorts ties.
    fn long_sorted(&mut self, m: &[u8], line: u32, len: u64, j: u64) -> Segment {
        let col = self.long_segment(m, line, j).column;
        // The run starts after the last mark with a smaller column (its chunk holds the start).
        let mut k = self.long.get(&line).map_or(0, |l| {
            l.marks
                .partition_point(|mk| mk.column < col)
                .saturating_sub(1)
        });
        let (mut run, mut first, mut idx) = (Vec::new(), None, (k * SEGMENT_MARK) as u64);
        'chunks: loop {
            let chunk = self.chunk(m, line, k);
            if chunk.is_empty() {
                break;
            }
            for s in chunk {
                if idx >= len || s.column > col {
                    break 'chunks;
                }
                if s.column == col {
                    first.get_or_insert(idx);
                    run.push(*s);
                }
                idx += 1;
            }
            k += 1;
        }
        run.sort_unstable_by(Segment::order);
        let i = first.map_or(usize::MAX, |f| usize::try_from(j - f).unwrap_or(usize::MAX));
        run.get(i).copied().unwrap_or(NO_SEGMENT)
    }

    /// Decode generated line `line`: the number of segments before it, and its own, sorted.
    fn decode(&self, m: &[u8], line: u32) -> (u64, Vec<Segment>) {
        let k = self.checkpoints.partition_point(|k| k.line <= line);
        let Some(start) = k.checked_sub(1).and_then(|k| self.checkpoints.get(k)) else {
            return (0, Vec::new());
        };
        let mut c = Cursor {
            b: m,
            at: start.offset,
        };
        let (mut st, mut cur, mut gen_col) = (start.state, start.line, 0u32);
        let mut before = start.before;
        let mut out = Vec::new();
        while let Some(b) = c.peek() {
            match b {
                b';' => {
                    if cur == line {
                        break;
                    }
                    cur += 1;
                    gen_col = 0;
                    c.at += 1;
                }
                b',' => c.at += 1,
                _ => match c.segment(&mut gen_col, &mut st) {
                    Ok(s) if cur == line => out.push(s),
                    Ok(_) => before += 1,
                    // Validated already; stop rather than loop.
                    Err(_) => break,
                },
            }
        }
        out.sort_unstable_by(Segment::order);
        (before, out)
    }
}

/// Mozilla's source URL without normalization (see the module docs).
fn join_source(root: Option<&str>, source: String) -> String {
    let Some(root) = root else { return source };
    let scheme = source.find(':').is_some_and(|i| {
        i > 0
            && source[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if scheme || source.starts_with("//") {
        return source;
    }
    let rel = source.strip_prefix('/').unwrap_or(&source);
    if root.ends_with('/') {
        format!("{root}{rel}")
    } else {
        format!("{root}/{rel}")
    }
}

impl Regular {
    fn mappings<'t>(&'t self, text: &'t str) -> &'t [u8] {
        match &self.mappings {
            MappingsText::Raw(r) => &text.as_bytes()[r.clone()],
            MappingsText::Decoded(v) => v,
        }
    }

    fn lookup(&mut self, text: &str, line: u32, column: u32) -> Result<Option<Found>, String> {
        if self.index.is_none() {
            self.index = Some(Lines::build(self.mappings(text)));
        }
        let m = match &self.mappings {
            MappingsText::Raw(r) => &text.as_bytes()[r.clone()],
            MappingsText::Decoded(v) => v.as_slice(),
        };
        let lines = match self.index.as_mut() {
            Some(Ok(l)) => l,
            Some(Err(e)) => return Err(e.clone()),
            None => return Ok(None),
        };
        if line >= lines.count {
            return Ok(None);
        }
        let Some(seg) = lines.find(m, line, column) else {
            return Ok(None);
        };
        if !seg.has_orig {
            return Ok(None);
        }
        let at = || {
            format!(
                "the mapping at generated line {} column {}",
                line + 1,
                seg.column + 1
            )
        };
        let source = match self.sources.get(seg.source as usize) {
            Some(s) => s.clone(),
            None => {
                return bad(format!(
                    "{} names source {} but \"sources\" has {}",
                    at(),
                    seg.source,
                    self.sources.len()
                ));
            }
        };
        let name = if seg.has_name {
            match self.names.get(seg.name as usize) {
                Some(n) => n.clone().map(|r| decode_capped(&text[r])),
                None => {
                    return bad(format!(
                        "{} names name {} but \"names\" has {}",
                        at(),
                        seg.name,
                        self.names.len()
                    ));
                }
            }
        } else {
            None
        };
        let source_name = source.map(|r| {
            let s = decode_capped(&text[r]);
            let mut joined = join_source(self.source_root.as_deref(), s);
            if joined.chars().count() > TEXT_CAP {
                joined = joined.chars().take(TEXT_CAP).collect::<String>() + "…";
            }
            joined
        });
        let source_line = self
            .contents
            .get(seg.source as usize)
            .cloned()
            .flatten()
            .and_then(|r| {
                let raw = &text[r];
                let idx = self
                    .content_index
                    .entry(seg.source as usize)
                    .or_insert_with(|| TextIndex::build(raw));
                idx.window(raw, seg.line, seg.orig_column)
            });
        Ok(Some(Found {
            source: source_name,
            line: seg.line,
            column: seg.orig_column,
            name,
            source_line,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// `sourcesContent`: one line, or a window of it, without decoding the whole string.

/// A place in a `sourcesContent` string's raw text: byte offset, line, UTF-16 column.
#[derive(Debug, Clone, Copy)]
struct TextMark {
    at: usize,
    line: u32,
    col: u32,
}

/// Marks at least every [`TEXT_MARK`] bytes of raw text, and the lengths of the lines longer
/// than [`LINE_WINDOW`]: any window is then reached by decoding at most that much.
struct TextIndex {
    marks: Vec<TextMark>,
    long_lines: HashMap<u32, u32>,
    lines: u32,
}

/// Steps through a `sourcesContent` string, counting lines the way JavaScript tools do
/// (`\n`, `\r\n`, `\r`, U+2028, U+2029) and columns in UTF-16 units.
struct TextWalk<'a> {
    chars: JsonChars<'a>,
    line: u32,
    col: u32,
}

enum Step {
    Char(char, u8),
    LineEnd,
}

impl<'a> TextWalk<'a> {
    fn at(raw: &'a str, m: TextMark) -> Self {
        TextWalk {
            chars: JsonChars { s: raw, at: m.at },
            line: m.line,
            col: m.col,
        }
    }

    fn mark(&self) -> TextMark {
        TextMark {
            at: self.chars.at,
            line: self.line,
            col: self.col,
        }
    }

    /// The next character of the current line, or the end of the line (moving to the next).
    fn step(&mut self) -> Option<Step> {
        let (c, units) = self.chars.next()?;
        match c {
            '\r' => {
                let save = self.chars.at;
                if self.chars.next().map(|x| x.0) != Some('\n') {
                    self.chars.at = save;
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' => {}
            _ => {
                self.col = self.col.saturating_add(u32::from(units));
                return Some(Step::Char(c, units));
            }
        }
        self.line = self.line.saturating_add(1);
        self.col = 0;
        Some(Step::LineEnd)
    }
}

impl TextIndex {
    fn build(raw: &str) -> TextIndex {
        let mut w = TextWalk::at(
            raw,
            TextMark {
                at: 0,
                line: 0,
                col: 0,
            },
        );
        let mut marks = vec![w.mark()];
        let mut long_lines = HashMap::new();
        while let Some(s) = w.step() {
            let m = w.mark();
            if m.at - marks.last().map_or(0, |k| k.at) >= TEXT_MARK {
                marks.push(m);
            }
            if let Step::Char(..) = s
                && w.col > LINE_WINDOW
            {
                long_lines.insert(w.line, w.col);
            }
        }
        TextIndex {
            marks,
            long_lines,
            lines: w.line + 1,
        }
    }

    /// Walk from the closest mark to (`line`, `col`): the first character at or after it.
    fn seek<'a>(&self, raw: &'a str, line: u32, col: u32) -> TextWalk<'a> {
        let k = self
            .marks
            .partition_point(|m| (m.line, m.col) <= (line, col))
            .saturating_sub(1);
        let mut w = TextWalk::at(raw, self.marks[k]);
        while (w.line, w.col) < (line, col) {
            let save = (w.chars.at, w.line, w.col);
            match w.step() {
                Some(Step::Char(_, units)) if w.line == line && w.col > col => {
                    // A surrogate pair straddles `col`: start at the pair.
                    let _ = units;
                    (w.chars.at, w.line, w.col) = save;
                    break;
                }
                Some(Step::LineEnd) if w.line > line => {
                    (w.chars.at, w.line, w.col) = save;
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        w
    }

    fn window(&self, raw: &str, line: u32, col: u32) -> Option<Window> {
        if line >= self.lines {
            return None;
        }
        let (start, len) = match self.long_lines.get(&line) {
            Some(&len) => (
                col.saturating_sub(WINDOW_BEFORE).min(len - LINE_WINDOW),
                len,
            ),
            None => (0, 0),
        };
        let mut w = self.seek(raw, line, start);
        if w.line != line {
            return Some(Window {
                text: String::new(),
                start,
                cut_after: false,
            });
        }
        let first = w.col;
        let mut text = String::new();
        while w.col < first.saturating_add(LINE_WINDOW) {
            match w.step() {
                Some(Step::Char(c, _)) => text.push(c),
                _ => break,
            }
        }
        Some(Window {
            text,
            start: first,
            cut_after: w.col < len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> Map {
        match Map::parse(json.as_bytes().to_vec()) {
            Ok(m) => m,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    fn at(m: &mut Map, line: u32, col: u32) -> Option<(Option<String>, u32, u32, Option<String>)> {
        match m.lookup(line, col) {
            Ok(f) => f.map(|f| (f.source, f.line, f.column, f.name)),
            Err(e) => panic!("lookup {line}:{col}: {e}"),
        }
    }

    fn err(m: &mut Map, line: u32, col: u32) -> String {
        match m.lookup(line, col) {
            Ok(f) => panic!("expected an error, got {f:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    const BASE: &str = r#""version":3,"sources":["a.js","b.js"],"names":["x","y"]"#;

    #[test]
    fn ties_are_broken_where_mozillas_search_lands() {
        // Two segments at the column asked: the second in Mozilla's order (its first probe).
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAA,AACA"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 1, 0, None)));
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AACA,AADA"}}"#));
        assert_eq!(at(&mut m, 0, 5), Some((s("a.js"), 1, 0, None)));
        // The greater source, the name over none, a segment without source after all.
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAA,ACAA"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("b.js"), 0, 0, None)));
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAAC,AAAAD"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, s("y"))));
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAAA,AAAA"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, s("x"))));
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAA,A"}}"#));
        assert_eq!(at(&mut m, 0, 0), None);
        // Five at one column: the probe lands on the middle one of them in Mozilla's order
        // (`source-map` 0.7.6 answers a.js:3:0 here); past the column, the last one.
        let mut m = map(&format!(
            r#"{{{BASE},"mappings":"AACGA,A,AACH,AAACA,AAFI;"}}"#
        ));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 2, 0, None)));
        assert_eq!(at(&mut m, 0, 3), None);
        // Which one also depends on the segments of other lines (the search spans the map).
        let mut m = map(&format!(
            r#"{{{BASE},"mappings":"AAAA,CAAA,CAAA,CAAA,CAAA;AAAA,AACA,AACA"}}"#
        ));
        assert_eq!(at(&mut m, 1, 0).map(|f| f.1), Some(1));
        assert_eq!(at(&mut m, 1, 9).map(|f| f.1), Some(2));
    }

    #[test]
    fn lines_are_kept_apart_and_columns_sorted() {
        let mut m = map(&format!(r#"{{{BASE},"mappings":"KAAA,LACA;;IACA"}}"#));
        // Columns 5 and 0 (written in that order): sorted.
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 1, 0, None)));
        assert_eq!(at(&mut m, 0, 9), Some((s("a.js"), 0, 0, None)));
        assert_eq!(at(&mut m, 1, 3), None);
        assert_eq!(at(&mut m, 2, 3), None);
        assert_eq!(at(&mut m, 2, 4), Some((s("a.js"), 2, 0, None)));
        assert_eq!(at(&mut m, 9, 0), None);
    }

    #[test]
    fn long_lines_answer_from_marks_as_a_whole_decode_would() {
        // 3000 segments on one line, columns 0, 0, 1, 1, 2, 2, … (ties on every column, and
        // across mark boundaries), original lines going up and down: the search through marks
        // must answer exactly what searching the whole sorted line answers.
        let mut mappings = String::new();
        let mut prev_line = 0i64;
        for i in 0..3000u32 {
            if i > 0 {
                mappings.push(',');
            }
            let col_delta = i64::from(i % 2);
            let line = i64::from((i * 7919) % 13);
            let mut v = |x: i64| {
                const B: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let mut x = if x < 0 { ((-x) << 1) | 1 } else { x << 1 } as u64;
                loop {
                    let mut d = (x & 31) as usize;
                    x >>= 5;
                    if x > 0 {
                        d |= 32;
                    }
                    mappings.push(B[d] as char);
                    if x == 0 {
                        break;
                    }
                }
            };
            v(col_delta);
            v(0);
            v(line - prev_line);
            v(0);
            prev_line = line;
        }
        let json = format!(r#"{{"version":3,"sources":["a.js"],"mappings":"{mappings}"}}"#);
        let mut m = map(&json);
        let mut whole = |col: u32| -> Option<u32> {
            // Reference: the whole line decoded and sorted, searched as Mozilla searches it.
            let Body::Regular(r) = &mut m.body else {
                return None;
            };
            let text = m.text.as_bytes();
            let MappingsText::Raw(range) = &r.mappings else {
                return None;
            };
            let lines = r
                .index
                .get_or_insert_with(|| Lines::build(&text[range.clone()]));
            let Ok(lines) = lines else { return None };
            assert!(
                lines.long.get(&0).is_some_and(|l| l.sorted),
                "marked as a long sorted line"
            );
            let (before, segs) = lines.decode(&text[range.clone()], 0);
            let j = mozilla_pick(lines.total, before, segs.len() as u64, &mut |j| {
                segs[j as usize].column.cmp(&col)
            })?;
            Some(segs[j as usize].line)
        };
        let expected: Vec<Option<u32>> = (0..1600).step_by(7).map(&mut whole).collect();
        let mut m = map(&json);
        let got: Vec<Option<u32>> = (0..1600)
            .step_by(7)
            .map(|c| at(&mut m, 0, c).map(|f| f.1))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn invalid_mappings_fail_the_whole_map() {
        for (mappings, why) in [
            ("AAAA,CADA", "original line negative"),
            ("AAAA,CAAD", "original column negative"),
            ("AA!A", "not base64"),
            ("AAAA;AA=A", "not base64"),
            ("AA", "ends in the middle"),
            ("AA,AA", "not base64"),
            ("D", "generated column negative"),
            ("AAAA.AAAA", "not base64"),
            ("AAAA,g/////////////A", "too large"),
        ] {
            let mut m = map(&format!(r#"{{{BASE},"mappings":"{mappings}"}}"#));
            let e = err(&mut m, 0, 0);
            assert!(
                e.contains(why.split(' ').next_back().unwrap_or(why)),
                "{mappings}: {e}"
            );
        }
        // Non-ASCII is refused (Mozilla would read U+0141 as 'A').
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAŁA"}}"#));
        assert!(err(&mut m, 0, 0).contains("not base64"));
        // Escapes are decoded first.
        let mut m = map(&format!(r#"{{{BASE},"mappings":"\u0041AAA"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, None)));
    }

    #[test]
    fn out_of_range_indexes_fail_only_their_positions() {
        let mut m = map(&format!(r#"{{{BASE},"mappings":"AAAA,EEAA,EFAAI"}}"#));
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, None)));
        assert!(err(&mut m, 0, 2).contains("source 2"));
        assert!(err(&mut m, 0, 4).contains("name 4"));
    }

    #[test]
    fn odd_optional_fields_do_not_fail_a_map() {
        for extra in [
            r#""ignoreList":[-1]"#,
            r#""x_google_ignoreList":["a"]"#,
            r#""sourcesContent":[1]"#,
            r#""debugId":5"#,
            r#""names":"x""#,
            r#""sourceRoot":7"#,
            r#""file":[]"#,
        ] {
            let mut m = map(&format!(
                r#"{{"version":3,"sources":["a.js"],"mappings":"AAAA",{extra}}}"#
            ));
            assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, None)), "{extra}");
        }
        let mut m =
            map(r#"{"version":"3","sources":["a.js"],"names":["\ud800x"],"mappings":"AAAAA"}"#);
        assert_eq!(at(&mut m, 0, 0), Some((s("a.js"), 0, 0, s("\u{fffd}x"))));
        for bad in [
            r#"{"version":4,"sources":[],"mappings":""}"#,
            r#"{"sources":[],"mappings":""}"#,
            r#"{"version":3,"mappings":""}"#,
            r#"{"version":3,"sources":"a","mappings":""}"#,
            r#"{"version":3,"sources":[],"mappings":5}"#,
            r#"[1]"#,
        ] {
            assert!(Map::parse(bad.as_bytes().to_vec()).is_err(), "{bad}");
        }
    }

    #[test]
    fn sources_join_the_root_like_mozilla_and_null_is_unknown() {
        let cases = [
            (r#""sourceRoot":"root""#, r#""a.js""#, s("root/a.js")),
            (r#""sourceRoot":"root/""#, r#""/a.js""#, s("root/a.js")),
            (r#""sourceRoot":"root""#, r#""/a.js""#, s("root/a.js")),
            (r#""sourceRoot":"""#, r#""/a.js""#, s("/a.js")),
            (
                r#""sourceRoot":"https://x.test/r""#,
                r#""a.js""#,
                s("https://x.test/r/a.js"),
            ),
            (
                r#""sourceRoot":"r""#,
                r#""webpack://app/x.js""#,
                s("webpack://app/x.js"),
            ),
            (r#""sourceRoot":"r""#, r#""//cdn/x.js""#, s("//cdn/x.js")),
            (r#""sourceRoot":"r""#, "null", None),
            (r#""sourceRoot":"r""#, "5", None),
        ];
        for (root, src, want) in cases {
            let mut m = map(&format!(
                r#"{{"version":3,{root},"sources":[{src}],"mappings":"AAAA"}}"#
            ));
            assert_eq!(at(&mut m, 0, 0).map(|f| f.0), Some(want), "{root} {src}");
        }
    }

    #[test]
    fn index_maps_follow_mozillas_section_search() {
        let sec = |l: u32, c: u32, src: &str| {
            format!(
                r#"{{"offset":{{"line":{l},"column":{c}}},"map":{{"version":3,"sources":["{src}"],"mappings":"AAAA"}}}}"#
            )
        };
        let idx = |secs: &[String]| {
            map(&format!(
                r#"{{"version":3,"sections":[{}]}}"#,
                secs.join(",")
            ))
        };
        let mut m = idx(&[sec(0, 0, "first"), sec(0, 0, "second")]);
        assert_eq!(at(&mut m, 0, 0).and_then(|f| f.0), s("first"));
        assert_eq!(at(&mut m, 0, 4).and_then(|f| f.0), s("second"));
        let mut m = idx(&[
            sec(0, 0, "a"),
            sec(0, 5, "first"),
            sec(0, 5, "second"),
            sec(0, 9, "c"),
        ]);
        assert_eq!(at(&mut m, 0, 6).and_then(|f| f.0), s("second"));
        assert_eq!(at(&mut m, 0, 9).and_then(|f| f.0), s("c"));
        let mut m = idx(&[sec(1, 2, "b")]);
        assert_eq!(at(&mut m, 0, 9), None);
        assert_eq!(at(&mut m, 1, 1), None);
        assert_eq!(
            at(&mut m, 1, 2).map(|f| (f.0, f.1, f.2)),
            Some((s("b"), 0, 0))
        );
        assert!(
            Map::parse(
                format!(
                    r#"{{"version":3,"sections":[{},{}]}}"#,
                    sec(0, 5, "a"),
                    sec(0, 0, "b")
                )
                .into_bytes()
            )
            .is_err()
        );
        // A bad section fails only the positions in it.
        let mut m = map(&format!(
            r#"{{"version":3,"sections":[{},{{"offset":{{"line":3,"column":0}},"map":{{"version":3,"sources":["z"],"mappings":"!"}}}}]}}"#,
            sec(0, 0, "ok")
        ));
        assert_eq!(at(&mut m, 0, 0).and_then(|f| f.0), s("ok"));
        assert!(err(&mut m, 3, 0).contains("section 1"));
    }

    #[test]
    fn source_lines_are_windowed_around_the_column() {
        let long = "x".repeat(5000) + "HERE" + &"y".repeat(5000);
        let content = format!("first\\r\\nsecond\\u2028third\\n{long}\\nlast");
        let mut m = map(&format!(
            r#"{{"version":3,"sources":["a.js"],"sourcesContent":["{content}"],"mappings":"AAAA,CACA,CACA,CACw4J,CACA"}}"#
        ));
        let w = |m: &mut Map, col: u32| match m.lookup(0, col) {
            Ok(Some(f)) => f.source_line,
            other => panic!("{other:?}"),
        };
        assert_eq!(w(&mut m, 0).map(|w| w.text), s("first"));
        assert_eq!(w(&mut m, 1).map(|w| w.text), s("second"));
        assert_eq!(w(&mut m, 2).map(|w| w.text), s("third"));
        let win = w(&mut m, 3).expect("window");
        assert!(win.cut_after && win.start > 0);
        assert_eq!(win.text.chars().count(), LINE_WINDOW as usize);
        let here = win.text.find("HERE").expect("the column is in the window") as u32;
        assert_eq!(win.start + here, 5000);
        assert_eq!(
            w(&mut m, 4).map(|w| (w.text, w.start, w.cut_after)),
            Some(("last".into(), 0, false))
        );
    }

    #[test]
    fn json_strings_decode_like_javascript() {
        let d = |raw: &str| JsonChars::new(raw).map(|c| c.0).collect::<String>();
        assert_eq!(d(r"a\nb\u00e9\ud83d\ude00\ud800"), "a\nbé😀\u{fffd}");
        let units: u32 = JsonChars::new(r"\ud83d\ude00é")
            .map(|c| u32::from(c.1))
            .sum();
        assert_eq!(units, 3);
        assert_eq!(
            decode_capped(&"a".repeat(TEXT_CAP + 5)).chars().count(),
            TEXT_CAP + 1
        );
    }
}
