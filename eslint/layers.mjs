/**
 * `kmsflow/layers`: each top-level folder imports only the folders its layer names (eslint.config.mjs holds the
 * table, docs/architecture.md draws it). Relative imports are resolved to the folder they land in, so a file
 * or subfolder that happens to share a folder's name is never mistaken for it. Static imports, re-exports,
 * `import()` and `require()` are runtime imports; `import type`, imports whose every name is a type and
 * `typeof import()` are type imports, allowed from the folders a layer lists under `types` as well.
 *
 * Options: `{ root, layers: { <folder>: { runtime: string[], types?: string[], files?: { <path>: { runtime?,
 * types? } } } } }`. An entry with a slash (`sandbox/env-file`) allows that module (or subfolder) only; `files`
 * (keyed by path from the root) widens the lists for one file. Folders absent from the table, and imports of
 * packages, are not checked here.
 */
import * as path from 'node:path';

const EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

/** The file's path from the root, with `/` separators and no extension. */
function fromRoot(root, file) {
  return path.relative(root, file).split(path.sep).join('/').replace(EXTENSIONS, '');
}

function allows(entries, target) {
  const folder = target.split('/')[0];
  return entries.some((e) => (e.includes('/') ? target === e || target.startsWith(`${e}/`) : folder === e));
}

const isTypeOnly = (node) => {
  const kind = node.importKind ?? node.exportKind;
  if (kind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return specifiers.length > 0 && specifiers.every((s) => (s.importKind ?? s.exportKind) === 'type');
};

export const layersRule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Each top-level folder imports only the folders its layer allows (docs/architecture.md).',
    },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, layers: { type: 'object' } },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      runtime:
        '{{folder}}/ imports at run time only from {{allowed}}{{typesToo}} (docs/architecture.md, Guards): not from {{target}}.',
      types:
        '{{folder}}/ takes types only from {{allowed}} (docs/architecture.md, Guards): not from {{target}}.',
    },
  },
  create(context) {
    const { root, layers } = context.options[0];
    const file = fromRoot(root, context.filename);
    const folder = file.split('/')[0];
    const layer = layers[folder];
    if (!layer || file.startsWith('..')) return {};
    const own =
      Object.entries(layer.files ?? {}).find(([f]) => f.replace(EXTENSIONS, '') === file)?.[1] ?? {};
    const runtime = [folder, ...layer.runtime, ...(own.runtime ?? [])];
    const types = [...runtime, ...(layer.types ?? []), ...(own.types ?? [])];

    function check(node, source, typeOnly) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = fromRoot(root, path.resolve(path.dirname(context.filename), source));
      if (target.startsWith('..') || !(target.split('/')[0] in layers)) return;
      const entries = typeOnly ? types : runtime;
      if (allows(entries, target)) return;
      const named = (list) => list.map((e) => (e.includes('/') ? e : `${e}/`)).join(', ');
      const typesOnly = types.filter((e) => !runtime.includes(e));
      context.report({
        node,
        messageId: typeOnly ? 'types' : 'runtime',
        data: {
          folder,
          target: `${target} (${target.split('/')[0]}/)`,
          allowed: named(entries),
          typesToo: typeOnly || !typesOnly.length ? '' : `; types also from ${named(typesOnly)}`,
        },
      });
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
      TSImportType: (node) => {
        const literal = node.argument?.literal ?? node.argument;
        if (literal?.type === 'Literal') check(node, literal.value, true);
      },
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' &&
        check(node, node.moduleReference.expression.value, node.importKind === 'type'),
      CallExpression: (node) => {
        const [arg] = node.arguments;
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && arg?.type === 'Literal')
          check(node, arg.value, false);
      },
    };
  },
};
