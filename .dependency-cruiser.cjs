// The layers of src/ (docs/architecture.md), bottom to top. A module may import from its own
// layer's folders and from layers below; an import upwards, or any cycle, fails `npm run
// check:layers` (run by `npm test`). Type-only imports count: they are still a dependency of the
// design, and the rule is simplest when it has no exceptions.
const LAYERS = [
  ['errors\\.ts', 'rng\\.ts', 'decimal\\.ts', 'version\\.ts', 'zodRules\\.ts'],
  ['stats', 'metrics', 'model', 'routers', 'formats'],
  ['workload'],
  ['config'],
  ['engine'],
  ['results', 'calibrate', 'capacity', 'loadgen', 'serve', 'bench'],
  ['report'],
  ['cli', 'cli\\.ts'],
];

const path = (names) => `^src/(${names.join('|')})(/|$)`;

const upward = LAYERS.slice(0, -1).map((names, i) => ({
  name: `layer-${i}-imports-above`,
  comment: `src/{${names.join(', ')}} (layer ${i}) may not import from a higher layer`,
  severity: 'error',
  from: { path: path(names) },
  to: { path: path(LAYERS.slice(i + 1).flat()) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'modules of src/ form no import cycle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-imports-no-tooling',
      comment: 'the package ships src/ compiled; benches, scripts and tests are not in it',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(benches|scripts|test)/' },
    },
    {
      name: 'unplaced-module',
      comment: 'every folder of src/ belongs to a layer (add a new one to LAYERS and docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/', pathNot: path(LAYERS.flat()) },
      to: {},
    },
    {
      name: 'routers-do-not-import-the-registry',
      comment:
        'src/routers/index.ts imports every module of its folder at start-up and awaits them (a top-level await); one that imported the registry back would wait for itself forever',
      severity: 'error',
      from: { path: '^src/routers/', pathNot: '^src/routers/index\\.ts$' },
      to: { path: '^src/routers/index\\.ts$' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.(wgsl|d\\.ts)$' },
  },
};
