import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RecordedEventSchema } from '../src/core/envelope';
import { catalog } from './index';

/**
 * Write JSON Schemas for consumers in other languages: the envelope, and `data` of every
 * event type and version, as events/schema/<Type>.v<version>.json. Run: npm run events:schema.
 */
export function exportSchemas(dir = join(__dirname, 'schema')): string[] {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(join(dir, f));
  const written: string[] = [];
  const write = (name: string, schema: Record<string, unknown>) => {
    writeFileSync(join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
    written.push(name);
  };
  write('envelope.json', {
    $id: 'urn:openmcp:schema:envelope',
    title: 'OpenMCP-Chain event envelope',
    ...z.toJSONSchema(RecordedEventSchema, { io: 'input' }),
  });
  for (const def of catalog.definitions().sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version)) {
    write(`${def.type}.v${def.version}.json`, {
      $id: `urn:openmcp:schema:${def.type}:v${def.version}`,
      title: `${def.type} v${def.version} data`,
      description: def.description,
      ...z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'any' }),
    });
  }
  return written;
}

if (require.main === module) {
  const files = exportSchemas();
  console.log(`wrote ${files.length} JSON Schemas to events/schema/`);
}
