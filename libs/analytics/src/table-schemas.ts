/** Column types as DuckDB names them; CSV and Parquet exports share these definitions. */
export type ColumnType = 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMPTZ';
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface TableSchema {
  name: TableName;
  columns: readonly (readonly [string, ColumnType])[];
}

export const TABLE_NAMES = ['sessions', 'offers', 'messages', 'agent_states', 'wait_estimates'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export const SCHEMAS: Record<TableName, TableSchema> = {
  sessions: {
    name: 'sessions',
    columns: [
      ['session_id', 'VARCHAR'],
      ['entry_point_id', 'VARCHAR'],
      ['channel', 'VARCHAR'],
      ['client_name', 'VARCHAR'],
      ['client_version', 'VARCHAR'],
      ['locale', 'VARCHAR'],
      ['customer_id', 'VARCHAR'],
      ['intake_answers', 'VARCHAR'],
      ['requirements', 'VARCHAR'],
      ['queue_id', 'VARCHAR'],
      ['final_queue_id', 'VARCHAR'],
      ['priority', 'INTEGER'],
      ['reached_queue', 'BOOLEAN'],
      ['opened_at', 'TIMESTAMPTZ'],
      ['queued_at', 'TIMESTAMPTZ'],
      ['first_offer_at', 'TIMESTAMPTZ'],
      ['assigned_at', 'TIMESTAMPTZ'],
      ['ended_at', 'TIMESTAMPTZ'],
      ['wait_seconds', 'DOUBLE'],
      ['offer_to_assign_seconds', 'DOUBLE'],
      ['handle_seconds', 'DOUBLE'],
      ['agent_id', 'VARCHAR'],
      ['first_agent_id', 'VARCHAR'],
      ['first_agent_kind', 'VARCHAR'],
      ['handed_to_human', 'BOOLEAN'],
      ['offers', 'INTEGER'],
      ['transfers', 'INTEGER'],
      ['disposition', 'VARCHAR'],
      ['abandoned', 'BOOLEAN'],
      ['ended_by', 'VARCHAR'],
      ['end_reason', 'VARCHAR'],
    ],
  },
  offers: {
    name: 'offers',
    columns: [
      ['offer_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['agent_id', 'VARCHAR'],
      ['queue_id', 'VARCHAR'],
      ['offered_at', 'TIMESTAMPTZ'],
      ['expires_at', 'TIMESTAMPTZ'],
      ['strategy', 'VARCHAR'],
      ['step', 'INTEGER'],
      ['rule', 'VARCHAR'],
      ['eligible_count', 'INTEGER'],
      ['tie_break', 'VARCHAR'],
      ['outcome', 'VARCHAR'],
      ['responded_at', 'TIMESTAMPTZ'],
      ['response_seconds', 'DOUBLE'],
      ['reason', 'VARCHAR'],
    ],
  },
  messages: {
    name: 'messages',
    columns: [
      ['message_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['author', 'VARCHAR'],
      ['agent_id', 'VARCHAR'],
      ['sent_at', 'TIMESTAMPTZ'],
      ['length', 'INTEGER'],
      ['body', 'VARCHAR'],
    ],
  },
  agent_states: {
    name: 'agent_states',
    columns: [
      ['agent_id', 'VARCHAR'],
      ['agent_kind', 'VARCHAR'],
      ['state', 'VARCHAR'],
      ['reason', 'VARCHAR'],
      ['started_at', 'TIMESTAMPTZ'],
      ['ended_at', 'TIMESTAMPTZ'],
      ['seconds', 'DOUBLE'],
      ['conversations', 'INTEGER'],
      ['capacity', 'INTEGER'],
    ],
  },
  wait_estimates: {
    name: 'wait_estimates',
    columns: [
      ['delivery_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['queue_id', 'VARCHAR'],
      ['told_at', 'TIMESTAMPTZ'],
      ['position', 'INTEGER'],
      ['estimated_wait_seconds', 'DOUBLE'],
      ['low_seconds', 'DOUBLE'],
      ['high_seconds', 'DOUBLE'],
      ['actual_wait_seconds', 'DOUBLE'],
      ['outcome', 'VARCHAR'],
    ],
  },
};

const needsQuotes = /[",\n\r]/;

/** One CSV line (RFC 4180 quoting; null is an empty field, so DuckDB reads it as NULL). */
export function csvLine(schema: TableSchema, row: Row): string {
  let out = '';
  for (let i = 0; i < schema.columns.length; i++) {
    if (i > 0) out += ',';
    const v = row[schema.columns[i]![0]];
    if (v === null || v === undefined) continue;
    const s = typeof v === 'string' ? v : String(v);
    out += needsQuotes.test(s) || (typeof v === 'string' && s === '') ? `"${s.replace(/"/g, '""')}"` : s;
  }
  return `${out}\n`;
}

export const csvHeader = (schema: TableSchema) => `${schema.columns.map(([c]) => c).join(',')}\n`;
