import { builtinModules } from 'node:module';
import ts from 'typescript';

/** One package a file loads at run time, and how (for the failure message). */
export type PackageImport = { name: string; specifier: string; line: number; how: string };

/**
 * The npm package a module specifier names, or undefined for a relative path, an absolute path
 * or a Node built-in.
 * @example packageName('@noble/hashes/sha3.js') // '@noble/hashes'
 */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/**
 * The packages a JavaScript or TypeScript source loads when it runs: static imports and
 * re-exports, `import x = require()`, dynamic `import('…')`, `require('…')`, `require.resolve('…')`,
 * and a knex `client: '…'` (knex requires its driver by that name). Type-only imports and
 * re-exports (`import type`, `import { type A }` with only such names, `import('x').T` in a type)
 * are left out: they are erased before the code runs. A specifier that is not a string literal
 * cannot be known statically and is not reported.
 */
export function packageImports(fileName: string, text: string): PackageImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: PackageImport[] = [];
  const add = (node: ts.Node, specifier: string, how: string) => {
    const name = packageName(specifier);
    if (name) found.push({ name, specifier, how, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !typeOnlyImport(node.importClause)) {
      add(node, node.moduleSpecifier.text, 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !typeOnlyExport(node)) {
      add(node, node.moduleSpecifier.text, 'export … from');
    } else if (ts.isImportEqualsDeclaration(node) && !node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      add(node, node.moduleReference.expression.text, 'import = require');
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      const how = loaderName(node.expression);
      if (how) add(node, node.arguments[0].text, how);
    } else if (ts.isPropertyAssignment(node) && propertyName(node.name) === 'client' && ts.isStringLiteralLike(node.initializer)) {
      add(node, node.initializer.text, 'knex client');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function typeOnlyImport(clause: ts.ImportClause | undefined): boolean {
  if (!clause) return false; // `import 'x'`: run for its effects
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function typeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

function loaderName(callee: ts.Expression): string | undefined {
  if (callee.kind === ts.SyntaxKind.ImportKeyword) return 'import()';
  if (ts.isIdentifier(callee) && callee.text === 'require') return 'require()';
  if (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve') return 'require.resolve()';
  return undefined;
}

function propertyName(name: ts.PropertyName): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteralLike(name) ? name.text : undefined;
}
