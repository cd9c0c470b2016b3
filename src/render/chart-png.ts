/**
 * A Vega-Lite spec to PNG bytes: vega-lite compiles, vega draws SVG (pure JS, no
 * canvas), resvg rasterises it. resvg gets one bundled font file (DejaVu Sans, from
 * the `dejavu-fonts-ttf` package, Bitstream Vera licence) and no system fonts, so a
 * container without fonts still draws text, and the same spec gives the same bytes
 * on every machine.
 */
import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CHART_FONT } from './chart-spec.js';

const require = createRequire(import.meta.url);

/** The one font file resvg may use. */
export const CHART_FONT_FILE: string = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

/** Device pixels per CSS pixel: 2, so the chart stays sharp on high-density screens. */
export const CHART_SCALE = 2;

/** The spec drawn as SVG text (vega's own renderer, no DOM, no canvas). */
export async function chartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  // A headless view: no renderer, no loader reaching out (every spec here carries its data inline).
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: vega.loader({ mode: 'file', baseURL: '/nonexistent/' }) });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Png {
  bytes: Buffer;
  /** Device pixels. */
  width: number;
  height: number;
}

/** SVG text to PNG bytes, with the bundled font only. */
export function svgToPng(svg: string, scale = CHART_SCALE): Png {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: [CHART_FONT_FILE], loadSystemFonts: false, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
    shapeRendering: 2,
    textRendering: 1,
  });
  const image = resvg.render();
  return { bytes: image.asPng(), width: image.width, height: image.height };
}

/** A spec to PNG. */
export async function renderChart(spec: TopLevelSpec, scale = CHART_SCALE): Promise<Png> {
  return svgToPng(await chartSvg(spec), scale);
}
