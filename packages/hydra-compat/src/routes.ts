/**
 * matchRoute's patterns: Hydra matched paths against its registered routes with
 * route-parser, whose syntax is kept: `:name` is one path segment, `*name` any
 * rest, `( ... )` an optional part; everything else is literal (the `[get]`
 * method prefix included).
 */

/** The route as an anchored regular expression. */
export function compileRoute(route: string): RegExp {
  let source = '';
  for (let i = 0; i < route.length; i++) {
    const c = route[i]!;
    if (c === ':' || c === '*') {
      let j = i + 1;
      while (j < route.length && /[A-Za-z0-9_]/.test(route[j]!)) j++;
      if (j === i + 1 && c === ':') {
        source += ':';
        continue;
      }
      source += c === ':' ? '[^/?]+' : '.*?';
      i = j - 1;
    } else if (c === '(') source += '(?:';
    else if (c === ')') source += ')?';
    else source += c.replace(/[.+?^${}|[\]\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`^${source}$`);
  } catch {
    // Unbalanced parentheses: match the route text literally.
    return new RegExp(`^${route.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
  }
}
