/**
 * ESLint rule `local/layer-order`: a main-process module may only import from layers below its own.
 *
 * The layers are data (eslint.config.js): a list of tiers, bottom first, each a list of units. A unit
 * is a folder directly under the source root (`project`) or a file there (`log.ts`). A module may import
 * freely inside its own unit and from any unit in a lower tier; a unit in its own tier or above is
 * refused, so peers (db, slides, engine) stay independent and nothing climbs. Every module in a unit the
 * layers do not name is refused too: a new folder gets its place in the order before it gets code.
 *
 * Only relative imports that land inside the source root are checked; packages are other rules' work.
 */
import path from 'node:path';

const unitName = (name) => name.replace(/\.[cm]?[jt]s$/, '');

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'A module may only import from the layers below its own (eslint.config.js).' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          layers: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
        },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      climbs:
        '{{from}} (layer {{fromTier}}) may only import from the layers below it, not {{to}} (layer {{toTier}}). Move the code down a layer or pass what it needs in; do not relax the order.',
      unplaced: '{{from}} is not in the layer order: give it a place in `mainLayers` in eslint.config.js.',
    },
  },
  create(context) {
    const { root, layers } = context.options[0];
    const tierOf = new Map();
    layers.forEach((tier, i) => tier.forEach((unit) => tierOf.set(unitName(unit), i)));
    const rootName = path.basename(root);

    /** The unit (first path segment under root) of an absolute path, or null outside root. */
    const unitOf = (file) => {
      const rel = path.relative(root, file);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
      return unitName(rel.split(path.sep)[0]);
    };

    const file = context.filename;
    const from = unitOf(file);
    if (from === null) return {};
    const fromTier = tierOf.get(from);
    const label = (unit) => `${rootName}/${unit}`;
    if (fromTier === undefined) {
      return {
        Program: (node) => context.report({ node, messageId: 'unplaced', data: { from: label(from) } }),
      };
    }

    const check = (node, source) => {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('./') && !spec.startsWith('../')) return;
      const to = unitOf(path.resolve(path.dirname(file), spec));
      if (to === null || to === from) return;
      const toTier = tierOf.get(to);
      if (toTier !== undefined && toTier < fromTier) return;
      context.report({
        node,
        messageId: 'climbs',
        data: { from: label(from), fromTier, to: label(to), toTier: toTier ?? 'none' },
      });
    };

    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      TSImportType: (node) =>
        check(node, node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require')
          check(node, node.arguments[0]);
      },
    };
  },
};
