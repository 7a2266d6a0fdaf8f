// The text of every <script> and <style> element parse5 (the WHATWG parser) builds from the HTML
// on stdin, in document order, template contents included, read with scripting enabled and
// disabled (argv[2] = "on" | "off"). Prints one JSON array of {tag, ns, text}.
import { parse } from 'parse5';
import { readFileSync } from 'node:fs';

const html = readFileSync(0, 'utf8');
const doc = parse(html, { scriptingEnabled: process.argv[2] !== 'off' });
const out = [];
const text = (n) => (n.childNodes || []).filter((c) => c.nodeName === '#text').map((c) => c.value).join('');
const walk = (n) => {
  if (n.tagName === 'script' || n.tagName === 'style') {
    out.push({ tag: n.tagName, ns: n.namespaceURI, text: text(n) });
  }
  for (const c of n.childNodes || []) walk(c);
  if (n.content) walk(n.content);
};
walk(doc);
process.stdout.write(JSON.stringify(out));
