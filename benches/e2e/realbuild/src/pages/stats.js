// A few d3 modules and lodash functions, shared with other pages.
import { mean, deviation, quantile } from 'd3-array';
import { format } from 'd3-format';
import { sortBy, groupBy } from 'lodash-es';
import { createElement as h } from 'react';
import { series } from './shared.js';

export default function Stats() {
  const s = series(100);
  const f = format('.3f');
  const g = groupBy(sortBy(s), (v) => Math.round(v));
  return h('p', null, `mean ${f(mean(s))}, sd ${f(deviation(s))}, p90 ${f(quantile(s, 0.9))}, ${Object.keys(g).length} groups`);
}
