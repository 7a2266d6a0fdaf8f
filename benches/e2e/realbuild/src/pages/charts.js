// All of d3.
import * as d3 from 'd3';
import { createElement as h } from 'react';
import { series } from './shared.js';

export const lib = d3;
export default function Charts() {
  const data = series(50);
  const x = d3.scaleLinear().domain([0, data.length - 1]).range([0, 400]);
  const y = d3.scaleLinear().domain(d3.extent(data)).range([200, 0]);
  const line = d3.line().x((_, i) => x(i)).y((d) => y(d));
  return h('svg', { className: 'chart', width: 400, height: 200 }, h('path', { d: line(data) }));
}
