/** Summaries of a bench's rounds. */

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The value at fraction `p` of ascending `sorted` (index floor(p * n), the last for p99 of fewer than 100); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * `a[i] / b[i]` for two targets measured in the same rounds, as the median and range of
 * those ratios: how far one round's comparison can be trusted on a shared machine,
 * which a ratio of the two medians alone does not show.
 */
export function pairedRatios(a: number[], b: number[]): { median: number; min: number; max: number } {
  const ratios = a.map((x, i) => x / b[i]!);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}
