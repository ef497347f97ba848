import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { KvUploadQuery, TraceUploadQuery, kvBody, traceBody } from './traces.dto';
import { ApiBearerAuth, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { InputError, parseTrace } from '@kvplan/sim';
import { KvSampleRepository, TraceRepository, WorkloadProfileRepository } from '@kvplan/db';
import { Auth, RequireRole, type AuthContext } from '../../common/auth';
import { PageQueryDto } from '../../common/paging.dto';
import { InputIssuesException } from '../../common/validation';
import { SpecsService } from '../specs/specs.service';
import { readKvSampleHeader } from './kv-sample';
import { STREAM_CONTENT_TYPES, UploadsService } from './uploads.service';

interface RawRequest {
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

function rawStream(req: RawRequest): { stream: Readable; length: number | undefined; type: string } {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  const body = req.body as Readable | undefined;
  if (!STREAM_CONTENT_TYPES.includes(type) || !body || typeof body.pipe !== 'function') {
    throw new UnsupportedMediaTypeException(
      `send the file as the raw body with Content-Type one of ${STREAM_CONTENT_TYPES.join(', ')}`,
    );
  }
  const len = Number(req.headers['content-length']);
  return { stream: body, length: Number.isFinite(len) ? len : undefined, type };
}

@ApiTags('uploads')
@ApiBearerAuth()
@Controller()
export class TracesController {
  constructor(
    private readonly uploads: UploadsService,
    private readonly traces: TraceRepository,
    private readonly kvSamples: KvSampleRepository,
    private readonly profiles: WorkloadProfileRepository,
  ) {}

  /**
   * A request trace (DESIGN.md "Trace file") as the raw body. Streamed to the volume under the
   * upload limit, then every row is checked; the first bad lines come back as issues (`trace.csv:12`).
   */
  @Post('traces')
  @RequireRole('planner')
  @ApiConsumes('text/csv', 'application/x-ndjson')
  async uploadTrace(@Auth() auth: AuthContext, @Req() req: RawRequest, @Query() q: TraceUploadQuery) {
    const { stream, length, type } = rawStream(req);
    const format = q.format ?? (type === 'text/csv' ? 'csv' : 'jsonl');
    const stored = await this.uploads.store(stream, length, 'traces', auth.workspaceId, `.${format}`);
    try {
      const workload = parseTrace(fs.readFileSync(stored.absPath, 'utf8'), `trace.${format}`);
      const row = await this.traces.insert({
        id: stored.relPath
          .split('/')
          .pop()!
          .replace(/\.[a-z]+$/, ''),
        workspaceId: auth.workspaceId,
        name: q.name ?? `trace ${new Date().toISOString()}`,
        format,
        storagePath: stored.relPath,
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        numRequests: workload.n,
        tenants: workload.tenantNames,
      });
      return traceBody(row);
    } catch (err) {
      this.uploads.remove(stored.relPath);
      if (err instanceof InputError) throw new InputIssuesException(err.issues);
      throw err;
    }
  }

  @Get('traces')
  async listTraces(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.traces.list(auth.workspaceId, q);
    return { ...p, items: p.items.map(traceBody) };
  }

  @Get('traces/:id')
  async getTrace(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string) {
    const t = await this.traces.get(auth.workspaceId, id);
    if (!t) throw SpecsService.notFound('trace');
    return traceBody(t);
  }

  /** Deletes the trace and its file (409 while a workload profile uses it). */
  @Delete('traces/:id')
  @HttpCode(204)
  @RequireRole('planner')
  async deleteTrace(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    const t = await this.traces.delete(auth.workspaceId, id);
    if (!t) throw SpecsService.notFound('trace');
    this.uploads.remove(t.storagePath);
  }

  /** A `kvplan-kv/1` safetensors file as the raw body (application/octet-stream). */
  @Post('kv-samples')
  @RequireRole('planner')
  @ApiConsumes('application/octet-stream')
  async uploadKv(@Auth() auth: AuthContext, @Req() req: RawRequest, @Query() q: KvUploadQuery) {
    if (q.workloadProfileId && !(await this.profiles.get(auth.workspaceId, q.workloadProfileId))) {
      throw new InputIssuesException([
        { path: 'workloadProfileId', message: 'no workload profile with this id in your workspace' },
      ]);
    }
    const { stream, length } = rawStream(req);
    const stored = await this.uploads.store(stream, length, 'kv-samples', auth.workspaceId, '.safetensors');
    try {
      const metadata = readKvSampleHeader(stored.absPath);
      const row = await this.kvSamples.insert({
        id: stored.relPath
          .split('/')
          .pop()!
          .replace(/\.safetensors$/, ''),
        workspaceId: auth.workspaceId,
        name: q.name ?? `kv sample ${new Date().toISOString()}`,
        workloadProfileId: q.workloadProfileId ?? null,
        storagePath: stored.relPath,
        sizeBytes: stored.sizeBytes,
        sha256: stored.sha256,
        metadata,
      });
      return kvBody(row);
    } catch (err) {
      this.uploads.remove(stored.relPath);
      if (err instanceof InputError) throw new InputIssuesException(err.issues);
      throw err;
    }
  }

  @Get('kv-samples')
  async listKv(@Auth() auth: AuthContext, @Query() q: PageQueryDto) {
    const p = await this.kvSamples.list(auth.workspaceId, q);
    return { ...p, items: p.items.map(kvBody) };
  }

  @Delete('kv-samples/:id')
  @HttpCode(204)
  @RequireRole('planner')
  async deleteKv(@Auth() auth: AuthContext, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    const k = await this.kvSamples.delete(auth.workspaceId, id);
    if (!k) throw SpecsService.notFound('KV sample');
    this.uploads.remove(k.storagePath);
  }
}
