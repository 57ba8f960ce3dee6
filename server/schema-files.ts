/**
 * Which schemas the validators are generated from (`schemas/generate-validators.ts`) and the types
 * too (`schemas/generate-types.ts`). Data only: importing it compiles and reads nothing.
 */

/** Every wire/file-format schema the validators need, owners of shared definitions first. */
export const SCHEMA_FILES = [
  'common.schema.json',
  'scenario.schema.json',
  'stream-server-event.schema.json',
  'stream-client-config.schema.json',
  'stream-client-close.schema.json',
  'http-error.schema.json',
  'http-validation-error.schema.json',
  'auth-request.schema.json',
  'auth-response.schema.json',
  'upload-response.schema.json',
  'recording.schema.json',
  'admin.schema.json',
] as const;
export type SchemaFile = (typeof SCHEMA_FILES)[number];

/** The bodies of the admin API (admin.schema.json), by their `$defs` name. */
export const ADMIN_SCHEMAS = [
  'InjectRequest',
  'SessionQueueRequest',
  'UploadQueueRequest',
  'DefaultsRequest',
  'AdminErrorBody',
  'AdminStatus',
  'SessionList',
  'SessionDetail',
  'InjectResult',
  'QueueState',
  'Defaults',
  'JournalPage',
  'JournalEntry',
  'WaitResult',
  'ClearResult',
  'ResetResult',
] as const;
export type AdminSchema = (typeof ADMIN_SCHEMAS)[number];
