// The API reference: typedoc over every published package, written to docs/api/ (not
// committed: `npm run build` makes it). It is also the check that nothing a package
// exports is undocumented: a missing TSDoc comment, a type that the public API uses
// but does not export, or a broken {@link} fails the build, naming the symbol.
//
// Which packages: every workspace of the root package.json that is not private and
// has a typed entry point (`types` or `exports`), so a package added to the
// workspaces is covered without touching this file. Bin-only packages have no API.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Application } from 'typedoc';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'docs/api');


const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const { workspaces } = readJson(join(ROOT, 'package.json'));
const packages = workspaces.filter((dir) => {
  const pkg = readJson(join(ROOT, dir, 'package.json'));
  return !pkg.private && (pkg.types !== undefined || pkg.exports !== undefined);
});

// The repository every package's package.json names (one home for the URL).
function repositoryUrl() {
  const { repository } = readJson(join(ROOT, packages[0], 'package.json'));
  return repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
}

// Source links name the public repository, not whatever remote (or none) this checkout
// has: a clone without a GitHub remote made typedoc warn, which fails the build.
const sourceLinks = { sourceLinkTemplate: `${repositoryUrl()}/blob/{gitRevision}/{path}#L{line}` };
const validation = { notExported: true, notDocumented: true, invalidLink: true, rewrittenLink: true, unusedMergeModuleWith: true };
const app = await Application.bootstrapWithPlugins({
  name: 'hydra-ts',
  entryPointStrategy: 'packages',
  entryPoints: packages.map((dir) => join(ROOT, dir)),
  // tsc -b has just type-checked every package: typedoc only reads the comments.
  // A package's own typedoc.json adds to these (intentionallyNotExported, with the reasons).
  packageOptions: { skipErrorChecking: true, validation, ...sourceLinks },
  validation,
  treatValidationWarningsAsErrors: true,
  readme: join(ROOT, 'docs/api-readme.md'),
  ...sourceLinks,
  out: OUT,
  logLevel: 'Warn',
});

const project = await app.convert();
if (!project) {
  console.error('api-docs: typedoc could not convert the packages (see above)');
  process.exit(1);
}
app.validate(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error(`api-docs: every exported name of ${packages.join(', ')} needs a TSDoc comment (see above); nothing was written`);
  process.exit(1);
}
await app.generateDocs(project, OUT);
if (app.logger.hasErrors()) process.exit(1);
console.log(`api-docs: ${packages.join(', ')} -> ${relative(ROOT, OUT)}/index.html`);
