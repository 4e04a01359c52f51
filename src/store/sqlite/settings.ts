import type Database from 'better-sqlite3';
import type { FunctionSettingsRepo, RecursiveLoop, RuntimeManagementRecord } from '../types.js';

interface RuntimeManagementRow {
  update_runtime_on: RuntimeManagementRecord['updateRuntimeOn'];
  runtime_version_arn: string | null;
}

/**
 * A function's recursive loop setting (`function_settings.recursive_loop`) and its versions' runtime
 * management configurations (`function_runtime_management`), migration 11. Each write is one
 * statement that stores only while the function (version) exists, so a write that races a delete
 * leaves nothing behind for a later function of the same name.
 */
export function sqliteSettingsRepo(db: Database.Database): FunctionSettingsRepo {
  const s = {
    loop: db.prepare<[string], { recursive_loop: RecursiveLoop | null }>('SELECT recursive_loop FROM function_settings WHERE name = ?'),
    setLoop: db.prepare<[{ name: string; value: RecursiveLoop }]>(
      `INSERT INTO function_settings (name, recursive_loop)
       SELECT @name, @value WHERE EXISTS (SELECT 1 FROM function_versions WHERE name = @name AND version = '$LATEST')
       ON CONFLICT (name) DO UPDATE SET recursive_loop = excluded.recursive_loop`,
    ),
    runtime: db.prepare<[string, string], RuntimeManagementRow>(
      'SELECT update_runtime_on, runtime_version_arn FROM function_runtime_management WHERE name = ? AND version = ?',
    ),
    setRuntime: db.prepare<[{ name: string; version: string; mode: string; arn: string | null }]>(
      `INSERT INTO function_runtime_management (name, version, update_runtime_on, runtime_version_arn)
       SELECT @name, @version, @mode, @arn WHERE EXISTS (SELECT 1 FROM function_versions WHERE name = @name AND version = @version)
       ON CONFLICT (name, version) DO UPDATE SET
         update_runtime_on = excluded.update_runtime_on, runtime_version_arn = excluded.runtime_version_arn`,
    ),
  };
  return {
    recursiveLoop: (name) => Promise.resolve(s.loop.get(name)?.recursive_loop ?? undefined),
    setRecursiveLoop: (name, value) => Promise.resolve(s.setLoop.run({ name, value }).changes > 0),
    runtimeManagement: (name, version) => {
      const row = s.runtime.get(name, version);
      return Promise.resolve(
        row ? { updateRuntimeOn: row.update_runtime_on, runtimeVersionArn: row.runtime_version_arn ?? undefined } : undefined,
      );
    },
    setRuntimeManagement: (name, version, r) =>
      Promise.resolve(s.setRuntime.run({ name, version, mode: r.updateRuntimeOn, arn: r.runtimeVersionArn ?? null }).changes > 0),
  };
}
