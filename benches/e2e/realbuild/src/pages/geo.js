// d3-geo alone, and some three.js math (shared with the scene chunk).
import { geoPath, geoOrthographic, geoGraticule10 } from 'd3-geo';
import { Vector3, Quaternion } from 'three';
import { createElement as h } from 'react';

export default function Geo() {
  const path = geoPath(geoOrthographic().scale(90).translate([100, 100]));
  const q = new Quaternion().setFromAxisAngle(new Vector3(0, 1, 0), Math.PI / 4);
  return h('svg', { width: 200, height: 200, 'data-q': q.toArray().join(',') },
    h('path', { d: path(geoGraticule10()), stroke: '#999', fill: 'none' }));
}
