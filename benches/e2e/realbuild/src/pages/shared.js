// A deterministic series used by several pages (becomes a small shared chunk).
export function series(n) {
  const out = [];
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (x * 16807) % 2147483647;
    out.push((x / 2147483647) * 10);
  }
  return out;
}
