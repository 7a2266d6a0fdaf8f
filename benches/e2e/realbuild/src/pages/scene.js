// The whole of three.js (a namespace import keeps every export).
import * as THREE from 'three';
import { createElement as h, useEffect, useRef } from 'react';

export const lib = THREE;
export default function Scene() {
  const ref = useRef(null);
  useEffect(() => {
    const scene = new THREE.Scene();
    const camera = new THREE.PerspectiveCamera(60, 4 / 3, 0.1, 100);
    scene.add(new THREE.Mesh(new THREE.BoxGeometry(), new THREE.MeshNormalMaterial()));
    camera.position.z = 3;
    ref.current.textContent = `${scene.children.length} object(s), ${Object.keys(THREE).length} exports`;
  }, []);
  return h('div', { ref });
}
