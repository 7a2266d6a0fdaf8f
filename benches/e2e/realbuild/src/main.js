// A small React shell that lazy-loads pages, each pulling in a large real library, so the
// build has the chunk mix of a real app: an entry, a framework chunk, big vendor chunks and
// small shared ones.
import { createElement as h, lazy, Suspense, useState } from 'react';
import { createRoot } from 'react-dom/client';
import './style.css';

const pages = {
  scene: lazy(() => import('./pages/scene.js')),
  charts: lazy(() => import('./pages/charts.js')),
  table: lazy(() => import('./pages/table.js')),
  stats: lazy(() => import('./pages/stats.js')),
  geo: lazy(() => import('./pages/geo.js')),
};

function App() {
  const [page, setPage] = useState('table');
  const Page = pages[page];
  return h('main', null,
    h('nav', null, Object.keys(pages).map((p) =>
      h('button', { key: p, onClick: () => setPage(p) }, p))),
    h(Suspense, { fallback: h('p', null, 'loading…') }, h(Page)));
}

createRoot(document.getElementById('root')).render(h(App));
