import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Row, type TableSchema, csvHeader, csvLine } from '@parley/analytics';

export type ExportFormat = 'parquet' | 'csv' | 'ndjson';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['parquet', 'csv', 'ndjson'];

/** Appends text to a file through a fixed buffer with synchronous writes: memory stays bounded whatever the size. */
export class BufferedFile {
  private readonly fd: number;
  private chunks: string[] = [];
  private size = 0;

  constructor(
    readonly path: string,
    private readonly limit = 1 << 20,
  ) {
    this.fd = openSync(path, 'w');
  }

  write(text: string) {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= this.limit) this.flush();
  }

  flush() {
    if (this.chunks.length === 0) return;
    writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }

  close() {
    this.flush();
    closeSync(this.fd);
  }
}

export interface TableWriter {
  readonly rows: number;
  write(row: Row): void;
  close(): Promise<string>;
}

class CsvWriter implements TableWriter {
  rows = 0;
  private readonly file: BufferedFile;
  constructor(
    private readonly schema: TableSchema,
    readonly path: string,
  ) {
    this.file = new BufferedFile(path);
    this.file.write(csvHeader(schema));
  }
  write(row: Row) {
    this.rows++;
    this.file.write(csvLine(this.schema, row));
  }
  async close() {
    this.file.close();
    return this.path;
  }
}

class NdjsonWriter implements TableWriter {
  rows = 0;
  private readonly file: BufferedFile;
  constructor(
    private readonly schema: TableSchema,
    readonly path: string,
  ) {
    this.file = new BufferedFile(path);
  }
  write(row: Row) {
    this.rows++;
    const ordered: Row = {};
    for (const [c] of this.schema.columns) ordered[c] = row[c] ?? null;
    this.file.write(`${JSON.stringify(ordered)}\n`);
  }
  async close() {
    this.file.close();
    return this.path;
  }
}

/** Streams rows to a temporary CSV, then DuckDB turns it into Parquet with the schema's types (bounded memory). */
class ParquetWriter implements TableWriter {
  private readonly csv: CsvWriter;
  private readonly tmp: string;
  constructor(
    private readonly schema: TableSchema,
    readonly path: string,
  ) {
    this.tmp = mkdtempSync(join(tmpdir(), 'parley-export-'));
    this.csv = new CsvWriter(schema, join(this.tmp, `${schema.name}.csv`));
  }
  get rows() {
    return this.csv.rows;
  }
  write(row: Row) {
    this.csv.write(row);
  }
  async close() {
    await this.csv.close();
    try {
      await csvToParquet(this.schema, this.csv.path, this.path);
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
    return this.path;
  }
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export async function csvToParquet(schema: TableSchema, csvPath: string, parquetPath: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { memory_limit: '128MB', threads: '1', preserve_insertion_order: 'true' });
  const c = await db.connect();
  try {
    const columns = `{${schema.columns.map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`).join(', ')}}`;
    await c.run(
      `COPY (SELECT * FROM read_csv(${sqlString(csvPath)}, header = true, auto_detect = false, columns = ${columns}, quote = '"', escape = '"', nullstr = '')) ` +
        `TO ${sqlString(parquetPath)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)`,
    );
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

export function openTableWriter(format: ExportFormat, schema: TableSchema, dir: string): TableWriter {
  const file = join(dir, `${schema.name}.${format}`);
  switch (format) {
    case 'csv':
      return new CsvWriter(schema, file);
    case 'ndjson':
      return new NdjsonWriter(schema, file);
    case 'parquet':
      return new ParquetWriter(schema, file);
  }
}
