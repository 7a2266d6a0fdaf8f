//! Resolving a reference's URL against the file that carries it, without leaving the root.
//!
//! Pure string work on dist-relative paths (`/`-separated bytes): no file system access, so the
//! answer cannot be influenced by symlinks. `?query` and `#fragment` are dropped, the path is
//! percent-decoded, `\` is treated as `/` (as browsers do for http URLs), a leading `/` means the
//! dist root, and `..` that would climb above the root makes the target [`Target::Outside`].

use super::datauri::is_data_uri;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `data:` URI: the map is inside the comment.
    Inline,
    /// A URL with a scheme (`https:`, `file:`, `webpack:`…) or protocol-relative (`//host/…`).
    Absolute,
    /// Resolves above the dist root.
    Outside,
    /// Empty URL.
    Empty,
    /// A dist-relative path (`/`-separated, no `.`/`..` segments, never empty).
    Inside(Vec<u8>),
}

fn has_scheme(url: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', url) else {
        return false;
    };
    let scheme = &url[..colon];
    !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        && !scheme.contains(&b'/')
}

/// Resolve `url` found in the file at dist-relative path `file` (e.g. `b"assets/app.js"`).
pub fn resolve(file: &[u8], url: &[u8]) -> Target {
    if url.is_empty() {
        return Target::Empty;
    }
    if is_data_uri(url) {
        return Target::Inline;
    }
    let url: Vec<u8> = url
        .iter()
        .map(|&c| if c == b'\\' { b'/' } else { c })
        .collect();
    if has_scheme(&url) || url.starts_with(b"//") {
        return Target::Absolute;
    }
    let cut = url
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(url.len());
    let path: Vec<u8> = percent_encoding::percent_decode(&url[..cut]).collect();
    if path.is_empty() {
        return Target::Empty;
    }
    // The file's directory goes through the same `.`/`..` handling as the URL: callers pass
    // walker paths, but an archive member's name is whatever the archive says.
    let dir: &[u8] = match file.iter().rposition(|&c| c == b'/') {
        Some(slash) if !path.starts_with(b"/") => &file[..slash],
        _ => b"",
    };
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in dir.split(|&c| c == b'/').chain(path.split(|&c| c == b'/')) {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segs.pop().is_none() {
                    return Target::Outside;
                }
            }
            s => segs.push(s),
        }
    }
    if segs.is_empty() {
        return Target::Outside;
    }
    Target::Inside(segs.join(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(s: &str) -> Target {
        Target::Inside(s.as_bytes().to_vec())
    }

    #[test]
    fn relative_to_the_file() {
        assert_eq!(
            resolve(b"assets/a.js", b"a.js.map"),
            inside("assets/a.js.map")
        );
        assert_eq!(
            resolve(b"a.js", b"./maps/a.js.map?v=1#x"),
            inside("maps/a.js.map")
        );
        assert_eq!(resolve(b"x/y/a.js", b"../a.js.map"), inside("x/a.js.map"));
        assert_eq!(resolve(b"x/y/a.js", b"/root.map"), inside("root.map"));
        assert_eq!(resolve(b"a.js", b"my%20map.map"), inside("my map.map"));
        assert_eq!(resolve(b"a/b.js", b"..\\c.map"), inside("c.map"));
    }

    #[test]
    fn never_escapes_the_root() {
        assert_eq!(resolve(b"a.js", b"../a.js.map"), Target::Outside);
        assert_eq!(resolve(b"x/a.js", b"../../etc/passwd"), Target::Outside);
        assert_eq!(
            resolve(b"x/a.js", b"%2e%2e/%2e%2e/secret.map"),
            Target::Outside
        );
        assert_eq!(resolve(b"a.js", b"."), Target::Outside);
    }

    #[test]
    fn dot_segments_in_the_file_path_are_resolved_too() {
        // Found by the url_resolve fuzz target: `Inside("./w/x.map")`.
        assert_eq!(resolve(b"./w/a.js", b"x.map"), inside("w/x.map"));
        assert_eq!(resolve(b"a//b/./c/../a.js", b"x.map"), inside("a/b/x.map"));
        assert_eq!(resolve(b"../a.js", b"x.map"), Target::Outside);
        assert_eq!(resolve(b"a/../../b/a.js", b"x.map"), Target::Outside);
        assert_eq!(resolve(b"../a.js", b"/x.map"), inside("x.map"));
    }

    #[test]
    fn absolute_inline_and_empty() {
        assert_eq!(
            resolve(b"a.js", b"https://cdn.example/a.map"),
            Target::Absolute
        );
        assert_eq!(resolve(b"a.js", b"//cdn.example/a.map"), Target::Absolute);
        assert_eq!(resolve(b"a.js", b"file:///etc/a.map"), Target::Absolute);
        assert_eq!(
            resolve(b"a.js", b"data:application/json;base64,e30="),
            Target::Inline
        );
        assert_eq!(resolve(b"a.js", b""), Target::Empty);
        assert_eq!(resolve(b"a.js", b"?x"), Target::Empty);
    }
}
